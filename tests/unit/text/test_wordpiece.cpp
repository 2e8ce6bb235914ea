// mBERT's WordPiece tokenizer on a small hand-written vocabulary: every expectation below was
// worked out by hand from HF's BertNormalizer / BertPreTokenizer / WordPiece rules.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "support/assertions.h"
#include "support/scratch_dir.h"
#include "text/bert_text.h"
#include "text/subword_tokenizer.h"
#include "text/wordpiece.h"

namespace elm::text {
namespace {

namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

WordPieceSpec small_spec() {
  WordPieceSpec spec;
  const Strings tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un",  "##aff", "##able", "hello", ",",
                          "world", "##s",   "!",     "a",     "##a",    "東",  "京",    "##京",   "caf",   "##é",
                          "$",     "5",     "^",     "`",     "…",      "¿",   "it",    "'",      "n",     "t",
                          "do",    "##ne",  "wor",   "##ld",  "hel",    "##lo"};
  for (size_t i = 0; i < tokens.size(); ++i) spec.vocab.emplace_back(tokens[i], static_cast<int32_t>(i));
  for (const char* s : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
    for (const auto& [t, id] : spec.vocab) {
      if (t == s) spec.added.push_back({t, id, true});
    }
  }
  spec.added.push_back({"[NEW0]", static_cast<int32_t>(tokens.size()), true});
  return spec;
}

const WordPieceTokenizer& small() {
  static const auto t = WordPieceTokenizer::from_spec(small_spec(), "small test vocab");
  return *t;
}

Strings tokens_of(const SubwordTokenizer& t, const std::string& text) {
  Strings out;
  for (const auto& p : t.tokenize(text)) out.push_back(p.token);
  return out;
}

TEST(WordPiece, SplitsPunctuationAndContinuesWithHashes) {
  EXPECT_EQ(tokens_of(small(), "unaffable, worlds!"), (Strings{"un", "##aff", "##able", ",", "world", "##s", "!"}));
  // Ids are the vocabulary's.
  const auto pieces = small().tokenize("hello, world");
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].id, 8);
  EXPECT_EQ(pieces[1].id, 9);
  EXPECT_EQ(pieces[2].id, 10);
}

TEST(WordPiece, LongestMatchFirstIsGreedy) {
  // "world" is a whole token although "wor" + "##ld" also spells it.
  EXPECT_EQ(tokens_of(small(), "world"), (Strings{"world"}));
  EXPECT_EQ(tokens_of(small(), "hello"), (Strings{"hello"}));
  EXPECT_EQ(tokens_of(small(), "done"), (Strings{"do", "##ne"}));
}

TEST(WordPiece, UnsplittableWordIsOneUnk) {
  // "hellox": "hello" matches, then "##x" does not: the whole word becomes [UNK], not hello + [UNK].
  EXPECT_EQ(tokens_of(small(), "hellox world"), (Strings{"[UNK]", "world"}));
  EXPECT_EQ(tokens_of(small(), "xhello"), (Strings{"[UNK]"}));
  EXPECT_EQ(small().tokenize("xhello")[0].id, 1);
}

TEST(WordPiece, WordsLongerThanTheLimitAreUnk) {
  const std::string hundred(100, 'a'), hundred_one(101, 'a');
  const Strings at_limit = tokens_of(small(), hundred);
  ASSERT_EQ(at_limit.size(), 100u);  // "a" then 99 x "##a"
  EXPECT_EQ(at_limit.front(), "a");
  EXPECT_EQ(at_limit.back(), "##a");
  EXPECT_EQ(tokens_of(small(), hundred_one), (Strings{"[UNK]"}));
  // The limit counts characters, not bytes: 60 two-byte characters are fine in a word of 120 bytes.
  WordPieceSpec spec = small_spec();
  spec.max_input_chars_per_word = 3;
  const auto t = WordPieceTokenizer::from_spec(spec, "limit 3");
  EXPECT_EQ(tokens_of(*t, "caf\xC3\xA9"), (Strings{"[UNK]"}));  // 4 characters
  EXPECT_EQ(tokens_of(*t, "un"), (Strings{"un"}));
}

TEST(WordPiece, CjkIdeographsBecomeSeparateWords) {
  // Without the spaces BertNormalizer puts around ideographs this would be 東 ##京.
  EXPECT_EQ(tokens_of(small(), "東京"), (Strings{"東", "京"}));
  WordPieceSpec spec = small_spec();
  spec.normalizer.handle_chinese_chars = false;
  EXPECT_EQ(tokens_of(*WordPieceTokenizer::from_spec(spec, "no cjk"), "東京"), (Strings{"東", "##京"}));
}

TEST(WordPiece, CleanTextDropsControlsAndMapsWhitespace) {
  // U+0001 (Cc), U+200B (Cf), U+FFFD and U+0000 vanish; tab and newline separate words.
  EXPECT_EQ(tokens_of(small(), std::string("hel\x01lo\tworld\nun") + "\xE2\x80\x8B" + "aff" + "\xEF\xBF\xBD" + "able" +
                                   std::string(1, '\0') + "s"),
            (Strings{"hello", "world", "un", "##aff", "##able", "##s"}));
  EXPECT_EQ(bert_normalize("a\tb\r\nc"), "a b  c");
  EXPECT_EQ(bert_normalize("x\xE3\x80\x80y"), "x y");  // U+3000 ideographic space is Zs
}

TEST(WordPiece, CasedKeepsAccentsAndCase) {
  EXPECT_EQ(tokens_of(small(), "caf\xC3\xA9"), (Strings{"caf", "##\xC3\xA9"}));
  EXPECT_EQ(tokens_of(small(), "Hello"), (Strings{"[UNK]"}));  // no lowercasing: "Hello" is not in the vocab
}

TEST(WordPiece, PunctuationIsAsciiRangesOrUnicodeP) {
  // '$' and '^' and '`' are symbols (Sc, Sk) in Unicode but punctuation for BERT (ASCII ranges);
  // '…' (Po) and '¿' (Po) are Unicode punctuation.
  EXPECT_EQ(tokens_of(small(), "$5^`"), (Strings{"$", "5", "^", "`"}));
  EXPECT_EQ(tokens_of(small(), "hello…world¿"), (Strings{"hello", "…", "world", "¿"}));
  EXPECT_TRUE(is_bert_punctuation(U'~'));
  EXPECT_TRUE(is_bert_punctuation(U'\u2014'));  // em dash, Pd
  EXPECT_FALSE(is_bert_punctuation(U'\u00A9'));  // copyright sign, So
  EXPECT_FALSE(is_bert_punctuation(U'a'));
}

TEST(WordPiece, AddedTokensAreMatchedLiterallyBeforeNormalisation) {
  EXPECT_EQ(tokens_of(small(), "hello[NEW0]world"), (Strings{"hello", "[NEW0]", "world"}));
  const auto pieces = small().tokenize("[CLS]hello[SEP]");
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].id, 2);
  EXPECT_EQ(pieces[2].id, 3);
  EXPECT_EQ(small().find("[NEW0]").value(), 36);
  // Without matching first, '[' would split off as punctuation.
  EXPECT_EQ(tokens_of(small(), "[NEW1]"), (Strings{"[UNK]", "[UNK]", "[UNK]"}));
}

TEST(WordPiece, ExtraSpecialTokensGetTheNextIds) {
  const auto t = WordPieceTokenizer::from_spec(small_spec(), "extra", {"[NEW0]", "[NEW1]", "hello"});
  EXPECT_EQ(t->find("[NEW0]").value(), 36);  // already there
  EXPECT_EQ(t->find("[NEW1]").value(), 37);  // appended
  EXPECT_EQ(t->find("hello").value(), 8);    // in the vocab: keeps its id
  EXPECT_EQ(t->vocab_size(), 38);
  EXPECT_EQ(t->id_to_token(37), "[NEW1]");
  EXPECT_EQ(tokens_of(*t, "a[NEW1]"), (Strings{"a", "[NEW1]"}));
}

TEST(WordPiece, DecoderJoinsMergesAndTidies) {
  EXPECT_EQ(wordpiece_decode({"hello", ",", "world", "##s", "!"}), "hello, worlds!");
  EXPECT_EQ(wordpiece_decode({"un", "##aff", "##able", "."}), "unaffable.");
  EXPECT_EQ(wordpiece_decode({"Is", "it", "?"}), "Is it?");
  EXPECT_EQ(wordpiece_decode({"do", "n't"}), "don't");
  EXPECT_EQ(wordpiece_decode({"John", "'s", "car"}), "John's car");
  EXPECT_EQ(wordpiece_decode({"I", "'m", "sure", "we", "'ve", "they", "'re"}), "I'm sure we've they're");
  // The cleanup runs per token (HF's decoder), so " ' " across tokens stays.
  EXPECT_EQ(wordpiece_decode({"it", "'", "s"}), "it ' s");
  // A leading "##" on the first token is kept.
  EXPECT_EQ(wordpiece_decode({"##a", "b"}), "##a b");
  EXPECT_EQ(wordpiece_decode({"a", "\n", "b"}), "a \n b");
  EXPECT_EQ(wordpiece_decode({"a", "."}, "##", false), "a .");
  EXPECT_EQ(wordpiece_cleanup("x do not y"), "x don't y");
}

TEST(WordPiece, SpecialTokenNames) {
  EXPECT_TRUE(small().is_special_token("[CLS]"));
  EXPECT_TRUE(small().is_special_token("[UNK]"));
  EXPECT_FALSE(small().is_special_token("[NEW0]"));  // additional special tokens are not in the map
  EXPECT_EQ(small().token_to_id("nope"), 1);        // unk
}

TEST(WordPiece, LoadsTokenizerJsonAndVocabTxt) {
  const auto dir = testing::scratch_dir("wordpiece", "load");
  {
    std::ofstream(dir / "tokenizer.json") << wordpiece_tokenizer_json(small_spec());
  }
  const auto from_json = WordPieceTokenizer::load(dir.string());
  EXPECT_EQ(from_json->path(), (dir / "tokenizer.json").string());
  const std::string text = "unaffable, worlds! hello[NEW0]東京 caf\xC3\xA9";
  EXPECT_EQ(tokens_of(*from_json, text), tokens_of(small(), text));
  EXPECT_EQ(from_json->vocab_size(), small().vocab_size());

  const auto txt_dir = testing::scratch_dir("wordpiece", "vocab-txt");
  {
    std::ofstream vocab(txt_dir / "vocab.txt");
    for (const auto& [t, id] : small_spec().vocab) vocab << t << "\n";
    std::ofstream(txt_dir / "added_tokens.json") << "{\"[NEW0]\": 36}";
  }
  const auto from_txt = WordPieceTokenizer::load(txt_dir.string());
  EXPECT_EQ(tokens_of(*from_txt, text), tokens_of(small(), text));
  EXPECT_EQ(from_txt->find("[NEW0]").value(), 36);
  EXPECT_EQ(load_subword_tokenizer(txt_dir.string(), "bert")->kind(), "wordpiece");
}

TEST(WordPiece, BadFilesNameTheFile) {
  const auto dir = testing::scratch_dir("wordpiece", "bad");
  const std::string file = (dir / "tokenizer.json").string();
  auto write = [&](const std::string& text) { std::ofstream(file) << text; };
  write(R"({"model": {"type": "BPE", "vocab": {}, "merges": []}})");
  std::string err = testing::error_of([&] { WordPieceTokenizer::load(file); });
  EXPECT_CONTAINS(err, file);
  EXPECT_CONTAINS(err, "WordPiece");
  write(R"({"normalizer": {"type": "BertNormalizer", "lowercase": true}, "pre_tokenizer": {"type": "BertPreTokenizer"},
            "model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}})");
  EXPECT_CONTAINS(testing::error_of([&] { WordPieceTokenizer::load(file); }), "uncased");
  write(R"({"pre_tokenizer": {"type": "BertPreTokenizer"}, "model": {"type": "WordPiece", "vocab": {"a": 0}}})");
  EXPECT_CONTAINS(testing::error_of([&] { WordPieceTokenizer::load(file); }), "unk token \"[UNK]\"");
  write("{not json");
  EXPECT_CONTAINS(testing::error_of([&] { WordPieceTokenizer::load(file); }), file);
  EXPECT_CONTAINS(testing::error_of([&] { WordPieceTokenizer::load((dir / "missing").string()); }), "missing");
  EXPECT_CONTAINS(testing::error_of([&] { small().tokenize("ok \xFF"); }), "byte offset 3");
  EXPECT_CONTAINS(testing::error_of([&] { small().id_to_token(1000); }), "1000");
}

}  // namespace
}  // namespace elm::text
