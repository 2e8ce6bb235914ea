#include "text/unicode.h"

#include <utf8proc.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace elm::text {
namespace {

// Number of bytes a sequence with this lead byte has; 0 for bytes that cannot start one.
int sequence_length(unsigned char b) {
  if (b < 0x80) return 1;
  if (b < 0xC2) return 0;
  if (b < 0xE0) return 2;
  if (b < 0xF0) return 3;
  if (b < 0xF5) return 4;
  return 0;
}

// Whether byte b is allowed at position k (1..3) of a sequence that starts with `lead`
// (Unicode Table 3-7, "Well-Formed UTF-8 Byte Sequences").
bool continuation_ok(unsigned char lead, int k, unsigned char b) {
  if (k == 1) {
    switch (lead) {
      case 0xE0: return b >= 0xA0 && b <= 0xBF;
      case 0xED: return b >= 0x80 && b <= 0x9F;
      case 0xF0: return b >= 0x90 && b <= 0xBF;
      case 0xF4: return b >= 0x80 && b <= 0x8F;
      default: break;
    }
  }
  return b >= 0x80 && b <= 0xBF;
}

// Length of the well-formed prefix of the sequence that starts at s[i] (the "maximal subpart"),
// and whether the whole sequence is complete.
struct SeqCheck {
  int valid_len;
  bool complete;
};
SeqCheck check_sequence(std::string_view s, std::size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  const int n = sequence_length(lead);
  if (n == 0) return {0, false};
  int k = 1;
  for (; k < n; ++k) {
    if (i + k >= s.size() || !continuation_ok(lead, k, static_cast<unsigned char>(s[i + k]))) {
      return {k, false};
    }
  }
  return {n, true};
}

bool is_white_space(char32_t cp) {
  // Unicode White_Space property (PropList.txt), which is what Oniguruma's \s matches.
  if (cp >= 0x09 && cp <= 0x0D) return true;
  switch (cp) {
    case 0x20: case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F:
    case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

std::uint8_t compute_class(char32_t cp) {
  std::uint8_t c = 0;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
      c |= kLetter;
      break;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      c |= kNumber;
      break;
    default:
      break;
  }
  if (is_white_space(cp)) c |= kWhitespace;
  if (cp == '\r' || cp == '\n') c |= kNewline;
  return c;
}

// Classes of the whole Basic Multilingual Plane, computed once (64 KiB).
const std::array<std::uint8_t, 0x10000>& bmp_classes() {
  static const auto table = [] {
    auto t = std::make_unique<std::array<std::uint8_t, 0x10000>>();
    for (char32_t cp = 0; cp < 0x10000; ++cp) (*t)[cp] = compute_class(cp);
    return t;
  }();
  return *table;
}

}  // namespace

std::size_t find_invalid_utf8(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    // Fast path: eight ASCII bytes at a time.
    while (i + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const SeqCheck c = check_sequence(s, i);
    if (!c.complete) return i;
    i += static_cast<std::size_t>(c.valid_len);
  }
  return std::string_view::npos;
}

void require_valid_utf8(std::string_view s, std::string_view what) {
  const std::size_t bad = find_invalid_utf8(s);
  if (bad == std::string_view::npos) return;
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(s[bad])));
  fail("invalid UTF-8 in ", what, " at byte offset ", bad, " (byte ", hex, ")");
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string utf8_lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      out.push_back(s[i++]);
      continue;
    }
    const SeqCheck c = check_sequence(s, i);
    if (c.complete) {
      out.append(s.data() + i, static_cast<std::size_t>(c.valid_len));
      i += static_cast<std::size_t>(c.valid_len);
    } else {
      out.append("\xEF\xBF\xBD");  // U+FFFD
      i += static_cast<std::size_t>(c.valid_len > 0 ? c.valid_len : 1);
    }
  }
  return out;
}

std::size_t incomplete_utf8_tail(std::string_view s) {
  const std::size_t n = s.size();
  for (std::size_t back = 1; back <= 3 && back <= n; ++back) {
    const std::size_t p = n - back;
    const auto lead = static_cast<unsigned char>(s[p]);
    if (lead >= 0x80 && lead < 0xC0) continue;  // continuation byte: look further back
    const int len = sequence_length(lead);
    if (len <= static_cast<int>(back)) return 0;  // ASCII, invalid lead, or a complete sequence
    const SeqCheck c = check_sequence(s, p);
    return c.valid_len == static_cast<int>(back) ? back : 0;
  }
  return 0;
}

std::string nfc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    // Copy ASCII up to the byte before the next non-ASCII run: an ASCII character never composes
    // with what precedes it, but it may be the starter that a following combining mark joins.
    std::size_t j = i;
    while (j < n && static_cast<unsigned char>(s[j]) < 0x80) ++j;
    if (j == n) {
      out.append(s.data() + i, n - i);
      break;
    }
    const std::size_t start = j > i ? j - 1 : j;
    out.append(s.data() + i, start - i);
    std::size_t end = j;
    while (end < n && static_cast<unsigned char>(s[end]) >= 0x80) ++end;
    utf8proc_uint8_t* dst = nullptr;
    const utf8proc_ssize_t len =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + start),
                     static_cast<utf8proc_ssize_t>(end - start), &dst,
                     static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    if (len < 0) {
      std::free(dst);
      fail("NFC normalisation failed at byte offset ", start, ": ",
           utf8proc_errmsg(static_cast<utf8proc_ssize_t>(len)));
    }
    out.append(reinterpret_cast<const char*>(dst), static_cast<std::size_t>(len));
    std::free(dst);
    i = end;
  }
  return out;
}

std::uint8_t char_class(char32_t cp) {
  if (cp < 0x10000) return bmp_classes()[cp];
  return compute_class(cp);
}

}  // namespace elm::text
