#pragma once
// Judging a generated answer against the expected one for generative QA accuracy.
// See docs/training.md ("Judge modes").
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace elm::train {

enum class JudgeMode { exact, contains, startswith, endswith };

// "exact" | "contains" | "startswith" | "endswith" (case-sensitive, as written in configs).
// Throws elm::Error listing the valid modes otherwise.
JudgeMode parse_judge_mode(std::string_view name);
const char* judge_mode_name(JudgeMode mode);

// Normalisation applied to both sides: strip leading/trailing ASCII whitespace, lowercase ASCII
// letters (bytes >= 0x80 are kept as they are). The generated answer additionally loses trailing
// punctuation from the set . , ; : ! ? " ' ) (repeatedly, re-trimming whitespace in between), so
// "Paris." and "Paris!\n" judge like "Paris". The expected answer keeps its punctuation.
std::string normalize_expected(std::string_view expected);
std::string normalize_generated(std::string_view generated);

// Compares normalize_generated(generated) with normalize_expected(expected):
//   exact:      equal
//   contains:   expected is a substring of generated
//   startswith: generated starts with expected
//   endswith:   generated ends with expected
// An expected answer that normalises to empty never matches (it would match everything).
bool judge_answer(std::string_view generated, std::string_view expected, JudgeMode mode);

// Fraction of (generated, expected) pairs judged correct; 0 for an empty list.
double accuracy(const std::vector<std::pair<std::string, std::string>>& pairs, JudgeMode mode);

}  // namespace elm::train
