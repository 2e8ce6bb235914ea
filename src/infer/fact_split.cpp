#include "infer/fact_split.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "core/error.h"

namespace elm::infer {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }
bool is_newline(char c) { return c == '\n' || c == '\r'; }
bool is_end_punct(char c) { return c == '.' || c == '!' || c == '?'; }
bool is_closing(char c) { return c == '"' || c == '\'' || c == ')' || c == ']' || c == '}'; }
bool is_opening(char c) { return c == '"' || c == '\'' || c == '(' || c == '[' || c == '{'; }

// Titles and abbreviations that are followed by a word of the same sentence.
constexpr std::array<std::string_view, 13> kAbbreviations = {"mr", "mrs", "ms", "dr", "prof", "st", "sr",
                                                             "jr", "mt", "vs", "cf", "fig", "approx"};

// Bytes of a closing curly quote (U+201D, U+2019) at text[pos], else 0.
size_t curly_close_at(const std::string& text, size_t pos) {
  if (text.compare(pos, 3, "\xE2\x80\x9D") == 0 || text.compare(pos, 3, "\xE2\x80\x99") == 0) return 3;
  return 0;
}

// "J", "U.S", "e.g": single ASCII letters separated by dots.
bool is_initials(std::string_view word) {
  if (word.empty()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    const bool letter_slot = i % 2 == 0;
    const unsigned char c = static_cast<unsigned char>(word[i]);
    if (letter_slot ? !std::isalpha(c) : c != '.') return false;
  }
  return word.size() % 2 == 1;
}

// Whether the single '.' at text[dot] ends an abbreviation rather than the sentence. `after` is the
// index just past the dot (whitespace or the end follows it); `start` the sentence's first byte.
bool ends_abbreviation(const std::string& text, size_t start, size_t dot, size_t after) {
  size_t b = dot;
  while (b > start && !is_space(text[b - 1]) && !is_newline(text[b - 1])) --b;
  while (b < dot && is_opening(text[b])) ++b;
  const std::string_view word(text.data() + b, dot - b);
  if (word.empty()) return false;
  if (is_initials(word)) return true;
  std::string lower(word);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (std::find(kAbbreviations.begin(), kAbbreviations.end(), lower) != kAbbreviations.end()) return true;
  if (lower == "no") {  // "No. 5", not "The answer is no. Then ..."
    size_t k = after;
    while (k < text.size() && is_space(text[k])) ++k;
    return k < text.size() && std::isdigit(static_cast<unsigned char>(text[k]));
  }
  return false;
}

}  // namespace

int64_t utf8_length(const std::string& text) {
  int64_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::vector<std::string> split_facts(const std::string& text, int64_t min_chars) {
  ELM_CHECK(min_chars >= 0, "split_facts: min_chars must be >= 0, got ", min_chars);
  std::vector<std::string> facts;
  auto emit = [&](size_t b, size_t e) {
    while (b < e && (is_space(text[b]) || is_newline(text[b]))) ++b;
    while (e > b && (is_space(text[e - 1]) || is_newline(text[e - 1]))) --e;
    std::string s = text.substr(b, e - b);
    if (utf8_length(s) > min_chars) facts.push_back(std::move(s));
  };
  const size_t n = text.size();
  size_t start = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    if (is_newline(c)) {
      emit(start, i);
      start = i + 1;
      continue;
    }
    if (!is_end_punct(c)) continue;
    size_t j = i + 1;
    while (j < n && is_end_punct(text[j])) ++j;
    const bool single_dot = c == '.' && j == i + 1;
    for (;;) {
      if (j < n && is_closing(text[j])) {
        ++j;
      } else if (const size_t k = j < n ? curly_close_at(text, j) : 0) {
        j += k;
      } else {
        break;
      }
    }
    const bool boundary = j == n || is_space(text[j]) || is_newline(text[j]);
    if (boundary && !(single_dot && j == i + 1 && ends_abbreviation(text, start, i, j))) {
      emit(start, j);
      start = j;
    }
    i = j - 1;  // past the punctuation run
  }
  emit(start, n);
  return facts;
}

}  // namespace elm::infer
