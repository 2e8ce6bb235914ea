#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "text/bpe.h"

namespace elm::text {
namespace {

// A toy model: byte b has id b; merges create ids from 256 on.
struct Toy {
  BpeMerges merges;
  Toy() : merges(identity()) {
    merges.add('a', 'b', 0, 256);  // ab
    merges.add(256, 'c', 1, 257);  // abc
    merges.add('b', 'c', 2, 258);  // bc
    merges.add('a', 'a', 3, 259);  // aa
    merges.add(259, 259, 4, 260);  // aaaa
  }
  static std::vector<std::int32_t> identity() {
    std::vector<std::int32_t> ids(256);
    for (int i = 0; i < 256; ++i) ids[static_cast<std::size_t>(i)] = i;
    return ids;
  }
  std::vector<std::int32_t> run(const std::string& w, bool naive = false) const {
    std::vector<std::int32_t> out;
    if (naive) {
      merges.encode_word_naive(w, out);
    } else {
      merges.encode_word(w, out);
    }
    return out;
  }
};

using V = std::vector<std::int32_t>;

TEST(Bpe, LowestRankFirst) {
  Toy t;
  EXPECT_EQ(t.run("abc"), (V{257}));          // ab (rank 0) then abc (rank 1), never bc
  EXPECT_EQ(t.run("bc"), (V{258}));
  EXPECT_EQ(t.run("xabcx"), (V{'x', 257, 'x'}));
  EXPECT_EQ(t.run(""), V{});
  EXPECT_EQ(t.run("z"), (V{'z'}));
  EXPECT_EQ(t.merges.find('a', 'b').rank, 0);
  EXPECT_EQ(t.merges.find('b', 'a').rank, -1);
}

TEST(Bpe, EqualRanksMergeLeftmostFirst) {
  Toy t;
  EXPECT_EQ(t.run("aaa"), (V{259, 'a'}));
  EXPECT_EQ(t.run("aaaaa"), (V{260, 'a'}));
}

TEST(Bpe, RepeatedPairTakesLaterRank) {
  Toy t;
  t.merges.add('a', 'b', 9, 256);
  EXPECT_EQ(t.merges.find('a', 'b').rank, 9);
  // Now bc (rank 2) beats ab (rank 9).
  EXPECT_EQ(t.run("abc"), (V{'a', 258}));
}

TEST(Bpe, LongWordsMatchNaive) {
  // Words above the short-word limit take the heap path; both must agree with the naive loop.
  Toy t;
  std::mt19937 rng(7);
  const std::string alphabet = "aabcx";
  for (int trial = 0; trial < 200; ++trial) {
    std::string w(static_cast<std::size_t>(1 + rng() % 300), 'a');
    for (char& c : w) c = alphabet[rng() % alphabet.size()];
    ASSERT_EQ(t.run(w), t.run(w, true)) << w;
  }
  EXPECT_EQ(t.run(std::string(1000, 'a')), V(250, 260));
}

}  // namespace
}  // namespace elm::text
