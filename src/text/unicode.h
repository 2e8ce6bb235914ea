#pragma once
// UTF-8 decoding/validation, lossy repair, NFC normalisation (utf8proc) and the character classes
// the Qwen3 pre-tokenizer regex needs (\p{L}, \p{N}, \s).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace elm::text {

// Byte offset of the first invalid UTF-8 byte (overlong forms, surrogates, code points above
// U+10FFFF and truncated sequences are invalid), or npos when the whole string is valid.
std::size_t find_invalid_utf8(std::string_view s);

// Throws elm::Error("invalid UTF-8 at byte offset N ...") unless s is valid UTF-8.
void require_valid_utf8(std::string_view s, std::string_view what = "input text");

// Decodes one code point from valid UTF-8 at s[i]; advances i. Precondition: s is valid UTF-8.
inline char32_t decode_utf8(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  if (b0 < 0xE0) {
    char32_t cp = ((b0 & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
    i += 2;
    return cp;
  }
  if (b0 < 0xF0) {
    char32_t cp = ((b0 & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
                  (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
    i += 3;
    return cp;
  }
  char32_t cp = ((b0 & 0x07u) << 18) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 12) |
                ((static_cast<unsigned char>(s[i + 2]) & 0x3Fu) << 6) |
                (static_cast<unsigned char>(s[i + 3]) & 0x3Fu);
  i += 4;
  return cp;
}

// Appends the UTF-8 encoding of cp (must be a Unicode scalar value).
void append_utf8(std::string& out, char32_t cp);

// Lossy conversion of arbitrary bytes to valid UTF-8: each maximal ill-formed subpart becomes one
// U+FFFD (Unicode's "best practice", as Rust's String::from_utf8_lossy and WHATWG TextDecoder do).
std::string utf8_lossy(std::string_view bytes);

// Length of the trailing part of `bytes` that is a valid but incomplete UTF-8 sequence (a lead byte
// plus fewer continuation bytes than it needs, each allowed at its position); 0 when there is none.
std::size_t incomplete_utf8_tail(std::string_view bytes);

// Unicode NFC of valid UTF-8 text (utf8proc). ASCII runs are copied without calling utf8proc.
std::string nfc(std::string_view s);

// Character classes of the pre-tokenizer regex, as bit flags.
enum CharClass : std::uint8_t {
  kLetter = 1,      // \p{L}: Lu Ll Lt Lm Lo
  kNumber = 2,      // \p{N}: Nd Nl No
  kWhitespace = 4,  // \s: Unicode White_Space (what Oniguruma's \s matches)
  kNewline = 8,     // \r or \n
};
std::uint8_t char_class(char32_t cp);

}  // namespace elm::text
