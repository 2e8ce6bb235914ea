#pragma once
// Splits text into the facts the bank updater writes (docs/bank-updates.md, "Facts").
//
// Rule: a sentence ends at a newline, or at `.`, `!` or `?` (with any further `.!?` and closing
// quotes or brackets `"')]}` right after it, and the closing curly quote U+201D / U+2019) when
// whitespace or the end of the text follows. The end punctuation stays with its sentence
// ("Pundil lives in Lisbon, works as a pilot and likes green."). Not a sentence end:
//   - a `.` inside a token ("3.5", "e.g.x", "example.com"), since whitespace must follow;
//   - a `.` after a title or common abbreviation (Mr, Mrs, Ms, Dr, Prof, St, Sr, Jr, Mt, vs, cf,
//     fig, approx; case-insensitive), or after "No" when a digit follows ("No. 5"), so
//     "Dr. Smith lives in Rome." is one fact ("etc." is taken as a sentence end);
//   - a `.` after a single letter or a run of dot-separated single letters ("J. R. Tolkien",
//     "U.S.", "e.g.", "i.e."), taken as initials or an acronym.
// A sentence that really ends in such a word ("He moved to the U.S. Then ...") is therefore joined
// with the next one; that is the price of not splitting names.
// Each sentence is trimmed of ASCII whitespace and kept when it is longer than `min_chars`
// characters (Unicode code points of UTF-8 text; bytes that are not valid UTF-8 count one each).
#include <cstdint>
#include <string>
#include <vector>

namespace elm::infer {

std::vector<std::string> split_facts(const std::string& text, int64_t min_chars = 10);

// Code points of UTF-8 text (every byte that is not a continuation byte 10xxxxxx counts one).
int64_t utf8_length(const std::string& text);

}  // namespace elm::infer
