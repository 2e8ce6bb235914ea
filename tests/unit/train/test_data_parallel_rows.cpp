// The single-process parts of data-parallel training: how a global micro-batch's rows are split
// over ranks, and the per-row seeds that make random draws independent of the split.
#include <set>

#include <gtest/gtest.h>

#include "memory/bank_reader.h"
#include "support/assertions.h"
#include "train/data_parallel.h"

namespace elm::train {
namespace {

TEST(ShardRows, SlicesAreContiguousDisjointAndCoverTheBatch) {
  for (int64_t n : {0, 1, 3, 7, 8, 32, 33}) {
    for (int ranks : {1, 2, 3, 4, 8}) {
      int64_t next = 0, smallest = n, largest = 0;
      for (int r = 0; r < ranks; ++r) {
        const RowRange range = shard_rows(n, ranks, r);
        EXPECT_EQ(range.begin, next) << n << " rows, rank " << r << " of " << ranks;
        next = range.end;
        smallest = std::min(smallest, range.size());
        largest = std::max(largest, range.size());
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(largest - smallest, 1) << n << " rows over " << ranks;
      // Fewer rows than ranks: exactly the last ranks get none.
      EXPECT_EQ(shard_rows(n, ranks, ranks - 1).empty(), n < ranks);
    }
  }
  EXPECT_CONTAINS(testing::error_of([] { shard_rows(4, 2, 2); }), "rank 2 of 2");
}

TEST(RowSeed, DependsOnEveryCoordinateAndNothingElse) {
  std::set<uint64_t> seen;
  for (int64_t step : {0, 1, 2})
    for (int64_t micro : {0, 1})
      for (int64_t row : {0, 1, 2, 31}) seen.insert(row_seed(42, step, micro, row));
  EXPECT_EQ(seen.size(), 3u * 2u * 4u);
  EXPECT_EQ(row_seed(42, 5, 1, 3), row_seed(42, 5, 1, 3));
  EXPECT_NE(row_seed(42, 5, 1, 3), row_seed(43, 5, 1, 3));
}

TEST(SliceRows, TakesTheRangesRowsWithTheirGlobalSeedsOrTheStandIn) {
  const std::vector<int64_t> global = {40, 41, 42, 43, 44};
  const SliceRows s = slice_rows(global, {2, 4}, 7, 3, 1);
  EXPECT_FALSE(s.placeholder);
  EXPECT_EQ(s.rows, (std::vector<int64_t>{42, 43}));
  EXPECT_EQ(s.seeds, (std::vector<uint64_t>{row_seed(7, 3, 1, 2), row_seed(7, 3, 1, 3)}));
  // An empty range: global row 0 as a stand-in that counts for nothing.
  const SliceRows empty = slice_rows(global, {5, 5}, 7, 3, 1);
  EXPECT_TRUE(empty.placeholder);
  EXPECT_EQ(empty.rows, (std::vector<int64_t>{40}));
  EXPECT_EQ(empty.seeds, (std::vector<uint64_t>{row_seed(7, 3, 1, 0)}));
  EXPECT_CONTAINS(testing::error_of([&] { slice_rows(global, {4, 6}, 7, 3, 1); }), "slice_rows: rows [4, 6)");
}

TEST(GatherBank, OneProcessReadsTheWholeBankInAnyChunking) {
  auto tokens = torch::randint(0, 1000, {10, 3}, torch::kInt64);
  auto valid = torch::rand({10}).gt(0.3);
  memory::LocalBankReader bank(tokens, valid, 0);
  for (int64_t chunk : {1, 3, 10, 64}) {
    auto [t, v] = gather_bank(bank, chunk);
    EXPECT_TRUE(torch::equal(t, tokens.to(torch::kInt32))) << chunk;
    EXPECT_TRUE(torch::equal(v, valid)) << chunk;
  }
}

}  // namespace
}  // namespace elm::train
