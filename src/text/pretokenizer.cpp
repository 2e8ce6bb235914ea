#include "text/pretokenizer.h"

#include <cstdint>

#include "text/unicode.h"

namespace elm::text {

const std::string_view kQwenSplitPattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

namespace {

constexpr std::uint8_t kL = kLetter, kN = kNumber, kW = kWhitespace, kNL = kNewline;

// [^\s\p{L}\p{N}]
inline bool is_other(std::uint8_t c) { return (c & (kW | kL | kN)) == 0; }

// Simple case folding for the letters of the contractions. Oniguruma's (?i) uses Unicode case
// folding, under which U+017F LATIN SMALL LETTER LONG S folds to 's' (no other code point folds to
// one of d e l m r s t v). transformers.js rewrites the group to ASCII classes and differs here.
inline char32_t fold(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c == 0x017F) return 's';
  return c;
}

// One decoded character.
struct Ch {
  char32_t cp;
  std::uint8_t cls;
  std::uint8_t len;  // bytes
};

class Text {
 public:
  explicit Text(std::string_view s) : s_(s) {}
  std::size_t size() const { return s_.size(); }
  Ch at(std::size_t p) const {
    const auto b = static_cast<unsigned char>(s_[p]);
    if (b < 0x80) return Ch{b, ascii_class(b), 1};
    std::size_t q = p;
    const char32_t cp = decode_utf8(s_, q);
    return Ch{cp, char_class(cp), static_cast<std::uint8_t>(q - p)};
  }
  std::uint8_t cls_at(std::size_t p, std::size_t& len) const {
    const Ch c = at(p);
    len = c.len;
    return c.cls;
  }

 private:
  static std::uint8_t ascii_class(unsigned char b) {
    static const auto table = [] {
      struct T {
        std::uint8_t v[128];
      } t{};
      for (int i = 0; i < 128; ++i) t.v[i] = char_class(static_cast<char32_t>(i));
      return t;
    }();
    return table.v[b];
  }
  std::string_view s_;
};

// Byte offset where the match that starts at byte i ends.
std::size_t match_at(const Text& t, std::size_t i) {
  const std::size_t n = t.size();
  const Ch c = t.at(i);
  std::size_t len = 0;

  // 1. (?i:'s|'t|'re|'ve|'m|'ll|'d)
  if (c.cp == '\'' && i + 1 < n) {
    const Ch a = t.at(i + 1);
    const char32_t fa = fold(a.cp);
    if (fa == 's' || fa == 't' || fa == 'm' || fa == 'd') return i + 1 + a.len;
    const std::size_t q = i + 1 + a.len;
    if (q < n) {
      const Ch b = t.at(q);
      const char32_t fb = fold(b.cp);
      if ((fa == 'r' && fb == 'e') || (fa == 'v' && fb == 'e') || (fa == 'l' && fb == 'l')) return q + b.len;
    }
  }
  // 2. [^\r\n\p{L}\p{N}]?\p{L}+ (a letter cannot be the optional prefix, so it starts the run)
  {
    std::size_t j = 0;
    if (c.cls & kL) {
      j = i + c.len;
    } else if (!(c.cls & (kNL | kN)) && i + c.len < n && (t.cls_at(i + c.len, len) & kL)) {
      j = i + c.len + len;
    }
    if (j != 0) {
      while (j < n && (t.cls_at(j, len) & kL)) j += len;
      return j;
    }
  }
  // 3. \p{N}
  if (c.cls & kN) return i + c.len;
  // 4. ' '?[^\s\p{L}\p{N}]+[\r\n]*
  {
    std::size_t j = (c.cp == ' ') ? i + 1 : i;
    if (j < n && is_other(t.cls_at(j, len))) {
      while (j < n && is_other(t.cls_at(j, len))) j += len;
      while (j < n && (t.cls_at(j, len) & kNL)) j += len;
      return j;
    }
  }
  // Here text[i] is whitespace (neither a letter, a number nor "other"). Scan its run.
  std::size_t e = i;
  std::size_t last_nl_end = 0;  // 0: no newline in the run (a run never ends at byte 0)
  std::size_t last_start = i;
  while (e < n) {
    const std::uint8_t k = t.cls_at(e, len);
    if (!(k & kW)) break;
    if (k & kNL) last_nl_end = e + len;
    last_start = e;
    e += len;
  }
  // 5. \s*[\r\n]+ : \s* backtracks to the last newline of the run.
  if (last_nl_end != 0) return last_nl_end;
  // 6. \s+(?!\S) : the whole run at the end of the text, else the run minus its last character.
  if (e == n) return e;
  if (last_start > i) return last_start;
  // 7. \s+ (a single whitespace character before a non-space)
  return e;
}

}  // namespace

bool PieceScanner::next(std::string_view& piece) {
  if (pos_ >= text_.size()) return false;
  const std::size_t end = match_at(Text(text_), pos_);
  piece = text_.substr(pos_, end - pos_);
  pos_ = end;
  return true;
}

void pretokenize(std::string_view text, std::vector<std::string_view>& out) {
  PieceScanner scanner(text);
  std::string_view piece;
  while (scanner.next(piece)) out.push_back(piece);
}

}  // namespace elm::text
