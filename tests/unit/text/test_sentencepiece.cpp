// XLM-R's SentencePiece tokenizer: the fairseq id mapping checked against libsentencepiece's own
// ids, added tokens, and HF's Metaspace decoder. The model is trained here on the tiny corpus.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "support/assertions.h"
#include "support/scratch_dir.h"
#include "text/sentencepiece_library.h"
#include "text/sentencepiece_tokenizer.h"
#include "text/tiny_tokenizers.h"

namespace elm::text {
namespace {

namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

const std::string& model_file() {
  static const std::string path = [] {
    // Per process: ctest runs each test in its own process, possibly at the same time.
    const auto dir = testing::scratch_dir("sentencepiece", "model-" + std::to_string(::getpid()));
    const std::string file = (dir / "sentencepiece.bpe.model").string();
    std::ofstream(file, std::ios::binary) << train_tiny_sentencepiece(0);
    return file;
  }();
  return path;
}

const SentencePieceTokenizer& xlmr() {
  static const auto t = SentencePieceTokenizer::load(model_file(), {}, {"[NEW0]", "[NEW1]"});
  return *t;
}

// libsentencepiece's own view of the model, without the fairseq mapping.
const SentencePieceModel& raw_spm() {
  static const auto sp = SentencePieceModel::load(model_file());
  return *sp;
}

std::vector<int> spm_ids(const std::string& text) {
  std::vector<int> ids;
  for (const auto& [piece, id] : raw_spm().encode(text)) ids.push_back(id);
  return ids;
}

TEST(SentencePiece, FairseqIdsForSpecialsAndPieces) {
  EXPECT_EQ(xlmr().id_to_token(0), "<s>");
  EXPECT_EQ(xlmr().id_to_token(1), "<pad>");
  EXPECT_EQ(xlmr().id_to_token(2), "</s>");
  EXPECT_EQ(xlmr().id_to_token(3), "<unk>");
  const auto& sp = raw_spm();
  const int n = sp.piece_size();
  ASSERT_GT(n, 50);
  ASSERT_TRUE(sp.is_unknown(0));
  EXPECT_EQ(sp.id_to_piece(1), "<s>");
  EXPECT_EQ(sp.id_to_piece(2), "</s>");
  for (int i = 3; i < n; ++i) {
    EXPECT_EQ(xlmr().id_to_token(i + 1), sp.id_to_piece(i)) << "piece " << i;
    EXPECT_EQ(xlmr().find(sp.id_to_piece(i)).value(), i + 1) << "piece " << i;
  }
  EXPECT_EQ(xlmr().mask_id(), n + 1);
  EXPECT_EQ(xlmr().id_to_token(n + 1), "<mask>");
  EXPECT_EQ(xlmr().find("[NEW0]").value(), n + 2);
  EXPECT_EQ(xlmr().find("[NEW1]").value(), n + 3);
  EXPECT_EQ(xlmr().vocab_size(), n + 4);
  EXPECT_EQ(xlmr().token_to_id("<s>"), 0);
  EXPECT_EQ(xlmr().token_to_id("[CLS]"), 3);  // not an XLM-R token: <unk>
}

TEST(SentencePiece, TokenizeIsSentencePiecePlusOne) {
  const std::string text = "The meeting started at 9:30, and the river flows into the sea.";
  const std::vector<int> ids = spm_ids(text);
  const auto pieces = xlmr().tokenize(text);
  ASSERT_EQ(pieces.size(), ids.size());
  for (size_t i = 0; i < pieces.size(); ++i) {
    ASSERT_GE(ids[i], 3) << i;  // an ordinary piece
    EXPECT_EQ(pieces[i].id, ids[i] + 1) << i;
    EXPECT_EQ(pieces[i].token, raw_spm().id_to_piece(ids[i])) << i;
  }
  EXPECT_EQ(pieces.front().token.rfind("\xE2\x96\x81", 0), 0u);  // the dummy prefix "▁"
}

TEST(SentencePiece, UnknownCharacterMapsToUnk) {
  // U+2603 (snowman) is not in the corpus: SentencePiece id 0 -> HF id 3.
  const auto pieces = xlmr().tokenize("the \xE2\x98\x83");
  bool saw_unk = false;
  for (const auto& p : pieces) saw_unk |= p.id == 3;
  EXPECT_TRUE(saw_unk);
}

TEST(SentencePiece, AddedTokensSplitTheTextFirst) {
  const auto pieces = xlmr().tokenize("the[NEW0]sea");
  const std::vector<int> the_ids = spm_ids("the"), sea_ids = spm_ids("sea");
  ASSERT_EQ(pieces.size(), the_ids.size() + 1 + sea_ids.size());
  EXPECT_EQ(pieces[the_ids.size()].token, "[NEW0]");
  EXPECT_EQ(pieces[the_ids.size()].id, xlmr().find("[NEW0]").value());
  // Each segment gets its own "▁": "sea" after the added token starts a word.
  EXPECT_EQ(pieces[the_ids.size() + 1].id, sea_ids[0] + 1);
  // A newline is whitespace to nmt_nfkc: no piece at all, so LLMLingua-2 maps it to [NEWi].
  EXPECT_TRUE(xlmr().tokenize("\n").empty());
  EXPECT_EQ(xlmr().tokenize("<mask>").at(0).id, xlmr().mask_id());
}

TEST(SentencePiece, MetaspaceDecoding) {
  EXPECT_EQ(metaspace_decode({"\xE2\x96\x81Hello", ",", "\xE2\x96\x81world", "."}), "Hello, world.");
  EXPECT_EQ(metaspace_decode({"\xE2\x96\x81", "\xE2\x96\x81" "a"}), " a");
  EXPECT_EQ(metaspace_decode({"a", "[NEW0]", "\xE2\x96\x81" "b"}), "a[NEW0] b");
  EXPECT_EQ(metaspace_decode({}), "");
  const std::string text = "Paris is the capital of France.";
  Strings tokens;
  for (const auto& p : xlmr().tokenize(text)) tokens.push_back(p.token);
  EXPECT_EQ(xlmr().tokens_to_string(tokens), text);
}

TEST(SentencePiece, SpecialTokenNames) {
  for (const char* s : {"<s>", "</s>", "<pad>", "<unk>", "<mask>"}) EXPECT_TRUE(xlmr().is_special_token(s)) << s;
  EXPECT_FALSE(xlmr().is_special_token("[NEW0]"));
}

TEST(SentencePiece, AddedTokensFromFiles) {
  const auto dir = testing::scratch_dir("sentencepiece", "added");
  fs::copy_file(model_file(), dir / "sentencepiece.bpe.model");
  const int base = raw_spm().piece_size() + 2;
  std::ofstream(dir / "added_tokens.json") << "{\"[NEW0]\": " << base << ", \"[NEW1]\": " << base + 1 << "}";
  const auto t = load_subword_tokenizer(dir.string(), "xlm-roberta", {"[NEW0]", "[NEW1]", "[NEW2]"});
  EXPECT_EQ(t->find("[NEW1]").value(), base + 1);
  EXPECT_EQ(t->find("[NEW2]").value(), base + 2);
  std::ofstream(dir / "added_tokens.json", std::ios::trunc) << "{\"[NEW0]\": 5}";
  EXPECT_CONTAINS(testing::error_of([&] { load_subword_tokenizer(dir.string(), "xlm-roberta"); }), "collides");
}

TEST(SentencePiece, BadFilesNameTheFile) {
  const auto dir = testing::scratch_dir("sentencepiece", "bad");
  const std::string file = (dir / "sentencepiece.bpe.model").string();
  std::ofstream(file) << "not a model";
  EXPECT_CONTAINS(testing::error_of([&] { SentencePieceTokenizer::load(file); }), file);
  EXPECT_CONTAINS(testing::error_of([&] { load_subword_tokenizer((dir / "none").string(), "xlm-roberta"); }),
                  "does not exist");
  const auto empty = testing::scratch_dir("sentencepiece", "empty");
  EXPECT_CONTAINS(testing::error_of([&] { load_subword_tokenizer(empty.string(), "xlm-roberta"); }),
                  "sentencepiece.bpe.model");
  EXPECT_CONTAINS(testing::error_of([&] { load_subword_tokenizer(empty.string(), "gpt2"); }), "gpt2");
}

}  // namespace
}  // namespace elm::text
