#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "text/unicode.h"

namespace elm::text {
namespace {

constexpr auto npos = std::string_view::npos;

TEST(Unicode, ValidUtf8IsAccepted) {
  EXPECT_EQ(find_invalid_utf8(""), npos);
  EXPECT_EQ(find_invalid_utf8("plain ascii text, long enough for the 8-byte fast path"), npos);
  EXPECT_EQ(find_invalid_utf8("caf\xC3\xA9 \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80"), npos);
  EXPECT_EQ(find_invalid_utf8("\xF4\x8F\xBF\xBF"), npos);  // U+10FFFF
  EXPECT_EQ(find_invalid_utf8(std::string_view("a\0b", 3)), npos);
}

TEST(Unicode, InvalidUtf8ReportsFirstBadByte) {
  EXPECT_EQ(find_invalid_utf8("abc\x80"), 3u);             // stray continuation byte
  EXPECT_EQ(find_invalid_utf8("abcdefghij\xC3"), 10u);     // truncated at the end
  EXPECT_EQ(find_invalid_utf8("\xC0\xAF"), 0u);            // overlong
  EXPECT_EQ(find_invalid_utf8("x\xE0\x80\xAF"), 1u);       // overlong 3-byte
  EXPECT_EQ(find_invalid_utf8("ok\xED\xA0\x80"), 2u);      // surrogate U+D800
  EXPECT_EQ(find_invalid_utf8("\xF4\x90\x80\x80"), 0u);    // above U+10FFFF
  EXPECT_EQ(find_invalid_utf8("\xE2\x82 x"), 0u);          // missing continuation
  EXPECT_EQ(find_invalid_utf8("\xFF"), 0u);
}

TEST(Unicode, RequireValidUtf8NamesOffset) {
  try {
    require_valid_utf8("hello \xFFworld");
    FAIL() << "expected elm::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("byte offset 6"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(require_valid_utf8("fine"));
}

TEST(Unicode, LossyReplacesMaximalSubparts) {
  EXPECT_EQ(utf8_lossy("abc"), "abc");
  EXPECT_EQ(utf8_lossy("\xA6\x99"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // two lone continuations
  EXPECT_EQ(utf8_lossy("\xE2\x82"), "\xEF\xBF\xBD");              // one truncated sequence
  EXPECT_EQ(utf8_lossy("\xE2\x82x"), "\xEF\xBF\xBDx");
  EXPECT_EQ(utf8_lossy("\xF0\x9F\x98"), "\xEF\xBF\xBD");
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(utf8_lossy("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(utf8_lossy("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");
}

TEST(Unicode, IncompleteTail) {
  EXPECT_EQ(incomplete_utf8_tail(""), 0u);
  EXPECT_EQ(incomplete_utf8_tail("abc"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("a\xF0"), 1u);
  EXPECT_EQ(incomplete_utf8_tail("a\xF0\x9F"), 2u);
  EXPECT_EQ(incomplete_utf8_tail("a\xF0\x9F\x98"), 3u);
  EXPECT_EQ(incomplete_utf8_tail("a\xF0\x9F\x98\x80"), 0u);  // complete
  EXPECT_EQ(incomplete_utf8_tail("a\xE0\x80"), 0u);          // already invalid: nothing to wait for
  EXPECT_EQ(incomplete_utf8_tail("\x80\x80"), 0u);
}

TEST(Unicode, NfcComposes) {
  EXPECT_EQ(nfc("e\xCC\x81"), "\xC3\xA9");                          // e + acute -> é
  EXPECT_EQ(nfc("caf" "e\xCC\x81 ok"), "caf\xC3\xA9 ok");
  EXPECT_EQ(nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "\xEA\xB0\x81");  // jamo -> 각
  EXPECT_EQ(nfc("A\xCC\x8A"), "\xC3\x85");                          // A + ring -> Å
  EXPECT_EQ(nfc("\xE2\x84\xAB"), "\xC3\x85");                       // Angstrom sign -> Å
  EXPECT_EQ(nfc("plain ascii"), "plain ascii");
  // Canonical reordering: dot below (ccc 220) before circumflex (ccc 230) -> ệ.
  EXPECT_EQ(nfc("e\xCC\x82\xCC\xA3"), "\xE1\xBB\x87");
}

TEST(Unicode, CharClasses) {
  EXPECT_EQ(char_class('a'), kLetter);
  EXPECT_EQ(char_class(0x4F60), kLetter);   // 你 (Lo)
  EXPECT_EQ(char_class(0x02B0), kLetter);   // ʰ (Lm)
  EXPECT_EQ(char_class('7'), kNumber);
  EXPECT_EQ(char_class(0x00B2), kNumber);   // ² (No)
  EXPECT_EQ(char_class(0x216B), kNumber);   // Ⅻ (Nl)
  EXPECT_EQ(char_class(0x1D7D9), kNumber);  // 𝟙 (Nd, outside the BMP)
  EXPECT_EQ(char_class(' '), kWhitespace);
  EXPECT_EQ(char_class('\n'), kWhitespace | kNewline);
  EXPECT_EQ(char_class('\r'), kWhitespace | kNewline);
  EXPECT_EQ(char_class(0x0085), kWhitespace);  // NEL is White_Space
  EXPECT_EQ(char_class(0x3000), kWhitespace);
  EXPECT_EQ(char_class(0xFEFF), 0);            // BOM is not White_Space
  EXPECT_EQ(char_class(0x200B), 0);            // zero width space is Cf
  EXPECT_EQ(char_class(0x0301), 0);            // combining mark
  EXPECT_EQ(char_class('!'), 0);
}

}  // namespace
}  // namespace elm::text
