// split_facts: sentence ends, punctuation kept, decimals and abbreviations, trimming, the length rule.
#include <gtest/gtest.h>

#include "core/error.h"
#include "infer/fact_split.h"

namespace elm::infer {
namespace {

using Facts = std::vector<std::string>;

TEST(FactSplit, SentencesKeepTheirPunctuation) {
  EXPECT_EQ(split_facts("Pundil lives in Lisbon, works as a pilot and likes green. Marou lives in Oslo! Is Kesta a baker?"),
            (Facts{"Pundil lives in Lisbon, works as a pilot and likes green.", "Marou lives in Oslo!",
                   "Is Kesta a baker?"}));
}

TEST(FactSplit, NewlinesEndSentencesAndTextIsTrimmed) {
  EXPECT_EQ(split_facts("  The sky is blue today\n\n\tWater boils at 100 C  \r\nno end punctuation here   "),
            (Facts{"The sky is blue today", "Water boils at 100 C", "no end punctuation here"}));
}

TEST(FactSplit, KeepsOnlySentencesLongerThanMinChars) {
  // "Hi there." is 9 characters, "Ok. Yes." are shorter; exactly 10 characters is not longer than 10.
  EXPECT_EQ(split_facts("Hi there. Ok. Yes. 0123456789 Ten chars!x. Eleven char."),
            (Facts{"0123456789 Ten chars!x.", "Eleven char."}));
  EXPECT_EQ(split_facts("abcdefghi. abcdefghij."), (Facts{"abcdefghij."}));  // 10 and 11 characters
  EXPECT_EQ(split_facts("Hi there. Ok.", 0), (Facts{"Hi there.", "Ok."}));
  EXPECT_EQ(split_facts("Hi there. Ok.", 3), (Facts{"Hi there."}));
}

TEST(FactSplit, LengthCountsCodePointsNotBytes) {
  // "Ærø é ü ßå." is 11 code points (16 bytes); "Ærø é ü ß." 10 code points.
  EXPECT_EQ(utf8_length("\xC3\x86r\xC3\xB8 \xC3\xA9 \xC3\xBC \xC3\x9F\xC3\xA5."), 11);
  EXPECT_EQ(split_facts("\xC3\x86r\xC3\xB8 \xC3\xA9 \xC3\xBC \xC3\x9F. \xC3\x86r\xC3\xB8 \xC3\xA9 \xC3\xBC \xC3\x9F\xC3\xA5."),
            (Facts{"\xC3\x86r\xC3\xB8 \xC3\xA9 \xC3\xBC \xC3\x9F\xC3\xA5."}));
}

TEST(FactSplit, DecimalsAndDottedTokensDoNotSplit) {
  EXPECT_EQ(split_facts("The rod is 3.5 metres long. See example.com for more details."),
            (Facts{"The rod is 3.5 metres long.", "See example.com for more details."}));
}

TEST(FactSplit, AbbreviationsAndInitialsDoNotSplit) {
  EXPECT_EQ(split_facts("Dr. Smith lives in Rome. Mr. J. R. Tolkien wrote books. He met Prof. Ada in the U.S. on Monday."),
            (Facts{"Dr. Smith lives in Rome.", "Mr. J. R. Tolkien wrote books.",
                   "He met Prof. Ada in the U.S. on Monday."}));
  EXPECT_EQ(split_facts("Apples, pears, e.g. fruit, grow here. Room No. 5 is painted blue."),
            (Facts{"Apples, pears, e.g. fruit, grow here.", "Room No. 5 is painted blue."}));
  // "no" without a number after it ends the sentence; so does "etc.".
  EXPECT_EQ(split_facts("The answer to that was no. Then it rained all day. They sold fish, bread, etc. The shop closed."),
            (Facts{"The answer to that was no.", "Then it rained all day.", "They sold fish, bread, etc.",
                   "The shop closed."}));
}

TEST(FactSplit, PunctuationRunsAndClosingQuotes) {
  EXPECT_EQ(split_facts("Did she really say that?! \"It is raining today.\" (Yes, it was pouring.) Wait for me... it stopped now."),
            (Facts{"Did she really say that?!", "\"It is raining today.\"", "(Yes, it was pouring.)",
                   "Wait for me...", "it stopped now."}));
  // A curly closing quote stays with its sentence.
  EXPECT_EQ(split_facts("\xE2\x80\x9CThe sea is very cold.\xE2\x80\x9D Fish swim in the deep sea."),
            (Facts{"\xE2\x80\x9CThe sea is very cold.\xE2\x80\x9D", "Fish swim in the deep sea."}));
}

TEST(FactSplit, EmptyAndWhitespaceOnly) {
  EXPECT_TRUE(split_facts("").empty());
  EXPECT_TRUE(split_facts(" \n\t \r\n ").empty());
  EXPECT_TRUE(split_facts("...!!!???").empty());
  EXPECT_THROW(split_facts("some text here", -1), Error);
}

}  // namespace
}  // namespace elm::infer
