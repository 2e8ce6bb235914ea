#include "train/judge.h"

#include "core/error.h"

namespace elm::train {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool is_trailing_punct(char c) {
  switch (c) {
    case '.': case ',': case ';': case ':': case '!': case '?': case '"': case '\'': case ')':
      return true;
    default:
      return false;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

JudgeMode parse_judge_mode(std::string_view name) {
  if (name == "exact") return JudgeMode::exact;
  if (name == "contains") return JudgeMode::contains;
  if (name == "startswith") return JudgeMode::startswith;
  if (name == "endswith") return JudgeMode::endswith;
  fail("unknown judge mode '", name, "' (valid: exact, contains, startswith, endswith)");
}

const char* judge_mode_name(JudgeMode mode) {
  switch (mode) {
    case JudgeMode::exact: return "exact";
    case JudgeMode::contains: return "contains";
    case JudgeMode::startswith: return "startswith";
    case JudgeMode::endswith: return "endswith";
  }
  return "?";
}

std::string normalize_expected(std::string_view expected) { return lower(trim(expected)); }

std::string normalize_generated(std::string_view generated) {
  std::string_view s = trim(generated);
  while (!s.empty() && is_trailing_punct(s.back())) {
    s.remove_suffix(1);
    s = trim(s);
  }
  return lower(s);
}

bool judge_answer(std::string_view generated, std::string_view expected, JudgeMode mode) {
  const std::string e = normalize_expected(expected);
  if (e.empty()) return false;
  const std::string g = normalize_generated(generated);
  switch (mode) {
    case JudgeMode::exact: return g == e;
    case JudgeMode::contains: return g.find(e) != std::string::npos;
    case JudgeMode::startswith: return g.size() >= e.size() && g.compare(0, e.size(), e) == 0;
    case JudgeMode::endswith: return g.size() >= e.size() && g.compare(g.size() - e.size(), e.size(), e) == 0;
  }
  return false;
}

double accuracy(const std::vector<std::pair<std::string, std::string>>& pairs, JudgeMode mode) {
  if (pairs.empty()) return 0.0;
  std::size_t correct = 0;
  for (const auto& [generated, expected] : pairs) {
    if (judge_answer(generated, expected, mode)) ++correct;
  }
  return static_cast<double>(correct) / static_cast<double>(pairs.size());
}

}  // namespace elm::train
