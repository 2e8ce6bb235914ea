// The combinable dataset checksum: pieces written by different ranks (contiguous ranges, strided
// shards) XOR to the checksum of the whole, and any change of a byte, of a row's position or of a
// row's length changes it.
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "io/row_checksum.h"

namespace elm::io {
namespace {

std::vector<int32_t> table(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<int32_t> t(static_cast<size_t>(rows * cols));
  for (auto& v : t) v = static_cast<int32_t>(gen());
  return t;
}

TEST(RowChecksum, ShardsOfAnyLayoutCombineToTheWhole) {
  const int64_t rows = 103, cols = 7;  // 28-byte rows: exercises the word loop and the tail
  const auto t = table(rows, cols, 1);
  const size_t row_bytes = cols * sizeof(int32_t);
  const uint64_t whole = rows_checksum(t.data(), rows, row_bytes, 0);
  for (int g : {1, 2, 3, 4, 7}) {
    // Cyclic shards: rank r holds rows r, r + g, ... densely.
    uint64_t cyclic = 0, block = 0;
    for (int r = 0; r < g; ++r) {
      std::vector<int32_t> shard;
      int64_t count = 0;
      for (int64_t i = r; i < rows; i += g, ++count) {
        shard.insert(shard.end(), t.begin() + i * cols, t.begin() + (i + 1) * cols);
      }
      cyclic ^= rows_checksum(shard.data(), count, row_bytes, r, g);
      const int64_t per = (rows + g - 1) / g, first = std::min<int64_t>(rows, r * per);
      const int64_t n = std::min<int64_t>(rows, first + per) - first;
      block ^= rows_checksum(t.data() + first * cols, n, row_bytes, first);
    }
    EXPECT_EQ(cyclic, whole) << g;
    EXPECT_EQ(block, whole) << g;
  }
}

TEST(RowChecksum, DetectsAFlippedBitASwapAndAShorterRow) {
  const int64_t rows = 16, cols = 9;
  auto t = table(rows, cols, 2);
  const size_t row_bytes = cols * sizeof(int32_t);
  const uint64_t base = rows_checksum(t.data(), rows, row_bytes, 0);
  for (size_t byte = 0; byte < row_bytes * rows; byte += 13) {
    auto copy = t;
    reinterpret_cast<unsigned char*>(copy.data())[byte] ^= 0x01;
    EXPECT_NE(rows_checksum(copy.data(), rows, row_bytes, 0), base) << byte;
  }
  auto swapped = t;
  std::swap_ranges(swapped.begin(), swapped.begin() + cols, swapped.begin() + cols);
  EXPECT_NE(rows_checksum(swapped.data(), rows, row_bytes, 0), base);
  // Two equal rows do not cancel: each row is hashed with its index.
  std::vector<int32_t> twins(2 * cols, 5);
  EXPECT_NE(rows_checksum(twins.data(), 2, row_bytes, 0), 0u);
  EXPECT_NE(row_hash(t.data(), row_bytes, 0), row_hash(t.data(), row_bytes - 1, 0));
  EXPECT_NE(row_hash(t.data(), row_bytes, 0), row_hash(t.data(), row_bytes, 1));
}

TEST(RowChecksum, TextFormRoundTripsAndRejectsOtherText) {
  uint64_t v = 0;
  ASSERT_TRUE(parse_checksum_text(checksum_text(0x0123456789abcdefULL), &v));
  EXPECT_EQ(v, 0x0123456789abcdefULL);
  EXPECT_EQ(checksum_text(0), "xor64:0000000000000000");
  for (const char* bad : {"", "xor64:", "xor64:0123456789ABCDEF", "crc32:0123456789abcdef", "xor64:0123456789abcdeg",
                          "xor64:0123456789abcdef0"}) {
    EXPECT_FALSE(parse_checksum_text(bad, &v)) << bad;
  }
}

}  // namespace
}  // namespace elm::io
