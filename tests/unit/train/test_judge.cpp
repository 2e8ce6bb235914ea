// Judge modes for generative QA accuracy: each mode, normalisation, parsing, accuracy.
#include <gtest/gtest.h>

#include "support/assertions.h"
#include "train/judge.h"

namespace elm::train {
namespace {

TEST(Judge, ParsesEveryModeAndRejectsOthersListingValidOnes) {
  EXPECT_EQ(parse_judge_mode("exact"), JudgeMode::exact);
  EXPECT_EQ(parse_judge_mode("contains"), JudgeMode::contains);
  EXPECT_EQ(parse_judge_mode("startswith"), JudgeMode::startswith);
  EXPECT_EQ(parse_judge_mode("endswith"), JudgeMode::endswith);
  for (auto m : {JudgeMode::exact, JudgeMode::contains, JudgeMode::startswith, JudgeMode::endswith}) {
    EXPECT_EQ(parse_judge_mode(judge_mode_name(m)), m);
  }
  const std::string msg = elm::testing::error_of([] { parse_judge_mode("fuzzy"); });
  EXPECT_CONTAINS(msg, "fuzzy");
  for (const char* v : {"exact", "contains", "startswith", "endswith"}) EXPECT_CONTAINS(msg, v);
}

TEST(Judge, Exact) {
  EXPECT_TRUE(judge_answer("Paris", "Paris", JudgeMode::exact));
  EXPECT_FALSE(judge_answer("Paris, France", "Paris", JudgeMode::exact));
  EXPECT_FALSE(judge_answer("Pari", "Paris", JudgeMode::exact));
}

TEST(Judge, Contains) {
  EXPECT_TRUE(judge_answer("It is Paris, France", "paris", JudgeMode::contains));
  EXPECT_FALSE(judge_answer("It is Lyon", "Paris", JudgeMode::contains));
}

TEST(Judge, StartsWith) {
  EXPECT_TRUE(judge_answer("Paris is the capital", "Paris", JudgeMode::startswith));
  EXPECT_FALSE(judge_answer("The capital is Paris", "Paris", JudgeMode::startswith));
  EXPECT_FALSE(judge_answer("Par", "Paris", JudgeMode::startswith));
}

TEST(Judge, EndsWith) {
  EXPECT_TRUE(judge_answer("The capital is Paris.", "Paris", JudgeMode::endswith));
  EXPECT_FALSE(judge_answer("Paris is the capital", "Paris", JudgeMode::endswith));
}

TEST(Judge, NormalisationTrimsLowercasesAndStripsTrailingPunctuation) {
  EXPECT_EQ(normalize_generated("  Paris!?\n"), "paris");
  EXPECT_EQ(normalize_generated("\"Blue\" ."), "\"blue");  // only trailing punctuation goes
  EXPECT_EQ(normalize_generated("U.S.A."), "u.s.a");
  EXPECT_EQ(normalize_expected("  Blue. "), "blue.");  // expected keeps its punctuation
  EXPECT_TRUE(judge_answer("\tPARIS.\n", " paris ", JudgeMode::exact));
  EXPECT_TRUE(judge_answer("42 )", "42", JudgeMode::exact));
  EXPECT_FALSE(judge_answer("-42", "42", JudgeMode::exact));  // leading characters are not stripped
  EXPECT_FALSE(judge_answer("paris", "", JudgeMode::contains));  // empty expected never matches
  EXPECT_FALSE(judge_answer("paris", "  ", JudgeMode::startswith));
}

TEST(Judge, AccuracyIsTheFractionCorrect) {
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"Paris.", "Paris"}, {"Lyon", "Paris"}, {"red", "Red"}, {"a blue car", "blue"}};
  EXPECT_DOUBLE_EQ(accuracy(pairs, JudgeMode::exact), 0.5);
  EXPECT_DOUBLE_EQ(accuracy(pairs, JudgeMode::contains), 0.75);
  EXPECT_DOUBLE_EQ(accuracy({}, JudgeMode::exact), 0.0);
}

}  // namespace
}  // namespace elm::train
