#include <gtest/gtest.h>

#include <set>
#include <string>

#include "text/byte_level.h"

namespace elm::text {
namespace {

TEST(ByteLevel, MapIsABijectionOntoPrintableCodePoints) {
  std::set<char32_t> seen;
  for (int b = 0; b < 256; ++b) {
    const char32_t cp = byte_to_unicode(static_cast<unsigned char>(b));
    EXPECT_TRUE(seen.insert(cp).second) << "duplicate for byte " << b;
    EXPECT_EQ(unicode_to_byte(cp), b);
  }
  EXPECT_EQ(unicode_to_byte(0x20), -1);  // a literal space is not in the alphabet
  EXPECT_EQ(unicode_to_byte(0x4F60), -1);
}

TEST(ByteLevel, KnownCharacters) {
  EXPECT_EQ(byte_to_unicode(' '), U'\u0120');   // Ġ
  EXPECT_EQ(byte_to_unicode('\n'), U'\u010A');  // Ċ
  EXPECT_EQ(byte_to_unicode('\t'), U'\u0109');  // ĉ
  EXPECT_EQ(byte_to_unicode('A'), U'A');
  EXPECT_EQ(byte_to_unicode(0xAD), U'\u0143');  // soft hyphen byte is remapped
  EXPECT_EQ(bytes_to_byte_level(" hi\n"), "\xC4\xA0hi\xC4\x8A");
}

TEST(ByteLevel, RoundTripsAllBytes) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const auto back = byte_level_to_bytes(bytes_to_byte_level(all));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, all);
  EXPECT_FALSE(byte_level_to_bytes("a b").has_value());
}

}  // namespace
}  // namespace elm::text
