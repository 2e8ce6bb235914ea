#pragma once
// GPT-2 byte-level alphabet: each of the 256 byte values is shown as one printable code point
// (printable Latin-1 bytes map to themselves, the rest to U+0100.. in byte order; space -> 'Ġ').
// Vocabulary entries are written in this alphabet.
#include <optional>
#include <string>
#include <string_view>

namespace elm::text {

// Code point that represents byte b.
char32_t byte_to_unicode(unsigned char b);

// Byte that code point cp represents, or -1 when cp is not in the byte-level alphabet.
int unicode_to_byte(char32_t cp);

// The byte-level string (UTF-8) for raw bytes, e.g. " hi" -> "Ġhi".
std::string bytes_to_byte_level(std::string_view bytes);

// Raw bytes of a byte-level string (valid UTF-8); nullopt when it contains a code point outside
// the alphabet.
std::optional<std::string> byte_level_to_bytes(std::string_view token);

}  // namespace elm::text
