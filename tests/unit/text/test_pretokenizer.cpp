#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "text/pretokenizer.h"

namespace elm::text {
namespace {

std::vector<std::string> pieces(std::string_view text) {
  std::vector<std::string_view> views;
  pretokenize(text, views);
  return std::vector<std::string>(views.begin(), views.end());
}
using V = std::vector<std::string>;

// Expected splits below were checked against Python's `regex` module running the same pattern.

TEST(Pretokenizer, ContractionsAnyCase) {
  EXPECT_EQ(pieces("We'Ve a'lL it'S"), (V{"We", "'Ve", " a", "'lL", " it", "'S"}));
  EXPECT_EQ(pieces("'sorry x'REally I'M"), (V{"'s", "orry", " x", "'RE", "ally", " I", "'M"}));
  EXPECT_EQ(pieces("don't"), (V{"don", "'t"}));
  EXPECT_EQ(pieces("'ll"), (V{"'ll"}));
  EXPECT_EQ(pieces("'"), (V{"'"}));
  EXPECT_EQ(pieces("'x"), (V{"'x"}));  // not a contraction: optional prefix + letters
}

TEST(Pretokenizer, LongSFoldsToS) {
  // Oniguruma's (?i) uses Unicode case folding: U+017F ſ matches 's'.
  EXPECT_EQ(pieces("'\xC5\xBFt"), (V{"'\xC5\xBF", "t"}));
}

TEST(Pretokenizer, WhitespaceRunBeforeWord) {
  EXPECT_EQ(pieces("a   b"), (V{"a", "  ", " b"}));
  EXPECT_EQ(pieces("   leading"), (V{"  ", " leading"}));
  EXPECT_EQ(pieces("a\xE3\x80\x80\xE3\x80\x80" "b"), (V{"a", "\xE3\x80\x80", "\xE3\x80\x80" "b"}));
  EXPECT_EQ(pieces("\tword"), (V{"\tword"}));
}

TEST(Pretokenizer, TrailingWhitespace) {
  EXPECT_EQ(pieces("a  "), (V{"a", "  "}));
  EXPECT_EQ(pieces("a \n"), (V{"a", " \n"}));
  EXPECT_EQ(pieces("end   \n"), (V{"end", "   \n"}));
  EXPECT_EQ(pieces(" "), (V{" "}));
}

TEST(Pretokenizer, CarriageReturnNewline) {
  EXPECT_EQ(pieces("a\r\nb"), (V{"a", "\r\n", "b"}));
  EXPECT_EQ(pieces("a \r\n  b"), (V{"a", " \r\n", " ", " b"}));
  EXPECT_EQ(pieces("  \t\n \n  x"), (V{"  \t\n \n", " ", " x"}));
  EXPECT_EQ(pieces("\nword"), (V{"\n", "word"}));  // a newline never prefixes a word
}

TEST(Pretokenizer, DigitsOnePerPiece) {
  EXPECT_EQ(pieces("abc12345"), (V{"abc", "1", "2", "3", "4", "5"}));
  EXPECT_EQ(pieces(" 12"), (V{" ", "1", "2"}));
  EXPECT_EQ(pieces("x\xC2\xB2"), (V{"x", "\xC2\xB2"}));  // superscript two is \p{N}
}

TEST(Pretokenizer, PunctuationRunsTakeFollowingNewlines) {
  EXPECT_EQ(pieces("hi!!!\n\nthere"), (V{"hi", "!!!\n\n", "there"}));
  EXPECT_EQ(pieces(" ...\r\n"), (V{" ...\r\n"}));
  EXPECT_EQ(pieces("(word"), (V{"(word"}));
  EXPECT_EQ(pieces("\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C"),
            (V{"\xE4\xBD\xA0\xE5\xA5\xBD", "\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C"}));  // 你好，世界
}

TEST(Pretokenizer, PiecesTileTheInput) {
  const std::string text = "Mixed: \xE4\xBD\xA0 3.14\r\n\t'Tis  \xF0\x9F\x98\x80!!\n  end  ";
  std::vector<std::string_view> views;
  pretokenize(text, views);
  std::string joined;
  for (auto v : views) {
    EXPECT_FALSE(v.empty());
    joined += v;
  }
  EXPECT_EQ(joined, text);
  EXPECT_GT(views.size(), 10u);
}

TEST(Pretokenizer, WhitespaceIsUnicodeWhiteSpace) {
  // \s is Oniguruma's (= Unicode White_Space): U+0085 NEL is whitespace, U+FEFF BOM is not.
  // (transformers.js, using JavaScript's \s, splits both of these differently.)
  EXPECT_EQ(pieces("x\xC2\x85\xC2\x85y"), (V{"x", "\xC2\x85", "\xC2\x85y"}));
  EXPECT_EQ(pieces("x\xEF\xBB\xBF\xEF\xBB\xBF y"), (V{"x", "\xEF\xBB\xBF\xEF\xBB\xBF", " y"}));
}

TEST(Pretokenizer, EmptyInput) {
  EXPECT_TRUE(pieces("").empty());
}

}  // namespace
}  // namespace elm::text
