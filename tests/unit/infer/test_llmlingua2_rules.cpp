// LLMLingua-2's word rules on hand-made inputs; every expected number is worked out by hand from
// SPECS.md section 3 (numpy's linear percentile, the merge rules, drop_consecutive).
#include <gtest/gtest.h>

#include <cmath>

#include "infer/llmlingua2_rules.h"
#include "support/assertions.h"

namespace elm::infer::llmlingua2 {
namespace {

using Strings = std::vector<std::string>;
const std::string kM = "\xE2\x96\x81";  // "▁"

ForceTokens default_force() {
  ForceTokens f;
  f.tokens = {"\n", ".", "!", "?", ",", ":", ";"};
  f.token_map = {{"\n", "[NEW0]"}};
  return f;
}

bool bert_special(const std::string& t) { return t == "[CLS]" || t == "[SEP]" || t == "[UNK]" || t == "[PAD]"; }
bool xlmr_special(const std::string& t) { return t == "<s>" || t == "</s>" || t == "<unk>" || t == "<pad>"; }

TEST(Percentile, NumpyLinearInterpolation) {
  EXPECT_NEAR(percentile({1, 2, 3, 4}, 60), 2.8, 1e-15);   // index 1.8: 2 + 0.8 * (3 - 2)
  EXPECT_NEAR(percentile({4, 3, 2, 1}, 61), 2.83, 1e-15);  // sorted first; index 1.83
  EXPECT_EQ(percentile({3, 1, 2}, 50), 2.0);
  EXPECT_EQ(percentile({5}, 61), 5.0);
  EXPECT_EQ(percentile({1, 2, 9}, 100), 9.0);
  EXPECT_EQ(percentile({1, 2, 9}, 0), 1.0);
  // t >= 0.5 takes numpy's b - (b - a)(1 - t) form: 0.2 - 0.1 * 0.25.
  EXPECT_EQ(percentile({0.1, 0.2}, 75), 0.2 - (0.2 - 0.1) * 0.25);
  EXPECT_EQ(percentile({0.1, 0.2}, 25), 0.1 + (0.2 - 0.1) * 0.25);
  EXPECT_CONTAINS(testing::error_of([] { percentile({}, 50); }), "empty");
  EXPECT_CONTAINS(testing::error_of([] { percentile({1.0}, 101); }), "101");
}

TEST(ForceTokens, RewriteAndRestore) {
  const ForceTokens f = default_force();
  EXPECT_EQ(f.rewrite("a\nb\n\nc"), "a[NEW0]b[NEW0][NEW0]c");
  EXPECT_EQ(f.restore("x[NEW0]y"), "x\ny");
  EXPECT_TRUE(f.is_force_token("."));
  EXPECT_FALSE(f.is_force_token("[NEW0]"));
  EXPECT_TRUE(f.is_mapped_token("[NEW0]"));
  EXPECT_TRUE(in_string_punctuation(","));
  EXPECT_TRUE(in_string_punctuation(",-."));  // a substring test, as Python's `in`
  EXPECT_FALSE(in_string_punctuation(".,"));
  EXPECT_FALSE(in_string_punctuation("a"));
}

TEST(MergeWordPiece, HashesContinueAndForceTokensStartWords) {
  const Strings tokens = {"[CLS]", "The", "cat", "##s", "[NEW0]", "sat", ".", "[UNK]", "on", "##e", "##s", "[SEP]"};
  const std::vector<float> probs = {0.5f, 0.25f, 0.75f, 0.5f, 0.125f, 0.375f, 0.0625f, 0.9f, 0.25f, 0.5f, 1.0f, 0.5f};
  const auto words = merge_tokens_to_words(tokens, probs, WordRule::kWordPiece, default_force(), bert_special);
  ASSERT_EQ(words.size(), 6u);
  EXPECT_EQ(words[0].text, "The");
  EXPECT_EQ(words[1].text, "cats");
  EXPECT_EQ(words[1].tokens, 2);
  EXPECT_EQ(words[1].mean(), (0.75 + 0.5) / 2);
  EXPECT_EQ(words[2].text, "\n");  // [NEW0] restored
  EXPECT_TRUE(words[2].forced);
  EXPECT_EQ(words[2].mean(), 1.0);
  EXPECT_EQ(words[3].text, "sat");
  EXPECT_FALSE(words[3].forced);
  EXPECT_EQ(words[4].text, ".");
  EXPECT_TRUE(words[4].forced);
  // [UNK] is a special token: skipped (its word is lost, as in the reference).
  EXPECT_EQ(words[5].text, "ones");
  EXPECT_EQ(words[5].tokens, 3);
  EXPECT_EQ(words[5].mean(), (0.25 + 0.5 + 1.0) / 3);
}

TEST(MergeWordPiece, SpecialSkipAndHashForceToken) {
  // "one" is a word; "##." starts a word (its pure form "." is a force token) and keeps its text.
  const Strings tokens = {"on", "##e", "##.", "x"};
  const auto words =
      merge_tokens_to_words(tokens, {0.2f, 0.4f, 0.3f, 0.9f}, WordRule::kWordPiece, default_force(), bert_special);
  ASSERT_EQ(words.size(), 3u);
  EXPECT_EQ(words[0].text, "one");
  EXPECT_NEAR(words[0].mean(), (double(0.2f) + double(0.4f)) / 2, 1e-15);
  EXPECT_EQ(words[1].text, "##.");
  EXPECT_TRUE(words[1].forced);
  EXPECT_EQ(words[2].text, "x");
  // A leading continuation with nothing before it opens a word instead of failing.
  EXPECT_EQ(merge_tokens_to_words({"##ab"}, {0.5f}, WordRule::kWordPiece, default_force(), bert_special)[0].text,
            "##ab");
}

TEST(MergeSentencePiece, MetaspaceAndPunctuationStartWords) {
  const Strings tokens = {"<unk>", kM + "Hello", ",", kM + "wor", "ld", kM + ".", "[NEW0]", kM + "a", ",-.", "x", "<unk>"};
  const std::vector<float> probs = {0.1f, 0.5f, 0.25f, 0.5f, 0.75f, 0.2f, 0.3f, 0.4f, 0.6f, 0.8f, 0.1f};
  const auto words = merge_tokens_to_words(tokens, probs, WordRule::kSentencePiece, default_force(), xlmr_special);
  ASSERT_EQ(words.size(), 7u);
  EXPECT_EQ(words[0].text, kM + "Hello");
  EXPECT_EQ(words[1].text, ",");
  EXPECT_TRUE(words[1].forced);
  EXPECT_EQ(words[2].text, kM + "world");
  EXPECT_EQ(words[2].mean(), (0.5 + 0.75) / 2);
  EXPECT_EQ(words[3].text, kM + ".");  // starts with "▁"; forced because its pure form is "."
  EXPECT_TRUE(words[3].forced);
  EXPECT_EQ(words[4].text, "\n");
  EXPECT_TRUE(words[4].forced);
  EXPECT_EQ(words[5].text, kM + "a");
  EXPECT_EQ(words[6].text, ",-.x");  // ",-." is in string.punctuation: a new word, not forced
  EXPECT_FALSE(words[6].forced);
  EXPECT_NEAR(words[6].mean(), (double(0.6f) + double(0.8f)) / 2, 1e-15);
  // In the WordPiece rule the same "ld" would be a word of its own.
  EXPECT_EQ(merge_tokens_to_words({"wor", "ld"}, {0.5f, 0.5f}, WordRule::kWordPiece, default_force(), bert_special).size(),
            2u);
}

Word word(const std::string& text, double prob, bool forced = false) {
  Word w;
  w.text = text;
  w.token_probs = {prob};
  w.forced = forced;
  w.tokens = 1;
  return w;
}

TEST(LabelWords, DropConsecutiveAndTokenWeightedThreshold) {
  // reduce_rate 0.6: t1 = percentile(probs, 60), thr = percentile(weighted, 61).
  const std::vector<Word> words = {word("alpha", 0.9), word("beta", 0.2),  word(".", 1.0, true), word("gamma", 0.6),
                                   word(",", 1.0, true), word(",", 1.0, true), word("delta", 0.3)};
  const std::vector<int64_t> counts = {1, 2, 1, 1, 1, 1, 1};
  const auto labels = label_words(words, counts, 0.6, true, default_force());
  // t1: sorted [0.2 0.3 0.6 0.9 1 1 1], index 3.6 -> 1 - 0.1 * 0.4 = 0.96; nothing above it between
  // the two ",", so the second gets 0.
  EXPECT_NEAR(labels.drop_threshold, 0.96, 1e-12);
  EXPECT_EQ(labels.probs[5], 0.0);
  EXPECT_EQ(labels.probs[4], 1.0);
  // thr: [0.9 0.2 0.2 1 0.6 1 0 0.3] sorted [0 .2 .2 .3 .6 .9 1 1], index 4.27 -> 0.6 + 0.3 * 0.27 = 0.681.
  EXPECT_NEAR(labels.threshold, 0.681, 1e-12);
  EXPECT_EQ(labels.keep, (std::vector<bool>{true, false, true, false, true, false, false}));
  EXPECT_EQ(labels.kept_words, (Strings{"alpha", ".", ","}));

  // Without drop_consecutive the repeat keeps probability 1 and the weighted list changes:
  // [0.9 .2 .2 1 .6 1 1 .3] sorted [.2 .2 .3 .6 .9 1 1 1], index 4.27 -> 0.9 + 0.1 * 0.27 = 0.927.
  const auto plain = label_words(words, counts, 0.6, false, default_force());
  EXPECT_NEAR(plain.threshold, 0.927, 1e-12);
  EXPECT_EQ(plain.keep, (std::vector<bool>{false, false, true, false, true, true, false}));
  EXPECT_TRUE(std::isnan(plain.drop_threshold));
}

TEST(LabelWords, KeptRepeatOfTheLastKeptWordIsDropped) {
  // "mid" (0.5) is above t1 (0.42), so the second "." survives the first pass, but thr is 0.55,
  // so "mid" is not kept and the second "." would repeat the last kept word.
  std::vector<Word> words = {word(".", 1.0, true), word("mid", 0.5), word(".", 1.0, true)};
  for (const char* w : {"a", "b", "c", "d", "e"}) words.push_back(word(w, 0.1));
  words.push_back(word("big", 0.55));
  std::vector<int64_t> counts(words.size(), 1);
  counts.back() = 20;
  const auto labels = label_words(words, counts, 0.6, true, default_force());
  // t1: sorted [.1 x5, .5, .55, 1, 1], index 4.8 -> 0.5 - 0.4 * 0.2 = 0.42.
  EXPECT_NEAR(labels.drop_threshold, 0.42, 1e-12);
  EXPECT_EQ(labels.probs[2], 1.0);
  // thr: 28 values, index 27 * 0.61 = 16.47 falls inside the twenty 0.55s.
  EXPECT_EQ(labels.threshold, 0.55);
  EXPECT_TRUE(labels.keep[0]);
  EXPECT_FALSE(labels.keep[1]);
  EXPECT_FALSE(labels.keep[2]);  // dropped: equal to the last kept word
  EXPECT_FALSE(labels.keep.back());  // 0.55 is not > 0.55
  EXPECT_EQ(labels.kept_words, (Strings{"."}));
  EXPECT_EQ(label_words(words, counts, 0.6, false, default_force()).kept_words, (Strings{".", "."}));
}

TEST(LabelWords, ThresholdOfOneKeepsTheOnes) {
  const std::vector<Word> words = {word(".", 1.0, true), word("!", 1.0, true), word("x", 0.3)};
  const auto labels = label_words(words, {1, 1, 1}, 0.6, true, default_force());
  EXPECT_EQ(labels.threshold, 1.0);  // sorted [0.3 1 1], index 1.22
  EXPECT_EQ(labels.keep, (std::vector<bool>{true, true, false}));
  const auto none = label_words({}, {}, 0.6, true, default_force());
  EXPECT_TRUE(none.kept_words.empty());
  EXPECT_TRUE(std::isnan(none.threshold));
}

TEST(ChunkRanges, CutsAfterTheLastChunkEndBeforeTheLimit) {
  const Strings ends = {".", "\n", "!", "?", "[NEW0]"};
  const Strings tokens = {"a", "b", ".", "c", "d", "e", ".", "f", "g"};
  using R = std::vector<std::pair<std::size_t, std::size_t>>;
  // max_len 4: ed = 4 scans back to "." at 2; then ed = 7 scans back to "." at 6; then the rest.
  EXPECT_EQ(chunk_ranges(tokens, ends, 4), (R{{0, 3}, {3, 7}, {7, 9}}));
  // No end token: chunks of max_len + 1 tokens.
  EXPECT_EQ(chunk_ranges(Strings(10, "x"), ends, 4), (R{{0, 5}, {5, 10}}));
  // Short input: one chunk; st + max_len > n - 1.
  EXPECT_EQ(chunk_ranges(Strings(5, "x"), ends, 4), (R{{0, 5}}));
  EXPECT_EQ(chunk_ranges(Strings(6, "x"), ends, 4), (R{{0, 5}, {5, 6}}));
  // An end token right at the limit is used as it is; one at the start of the chunk is not scanned.
  EXPECT_EQ(chunk_ranges({"a", "b", "c", "d", ".", "e", "f"}, ends, 4), (R{{0, 5}, {5, 7}}));
  EXPECT_EQ(chunk_ranges({".", "b", "c", "d", "e", "f", "g"}, ends, 4), (R{{0, 5}, {5, 7}}));
  EXPECT_TRUE(chunk_ranges({}, ends, 4).empty());
}

}  // namespace
}  // namespace elm::infer::llmlingua2
