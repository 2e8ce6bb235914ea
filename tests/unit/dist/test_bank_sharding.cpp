// Bank sharding arithmetic: every entry has exactly one owner, local rows are dense, the inverse
// map holds, and shard sizes add up to N (also for N < g and N not a multiple of g).
#include <gtest/gtest.h>

#include "core/error.h"
#include "dist/bank_sharding.h"

namespace elm::dist {
namespace {

TEST(BankSharding, EveryEntryHasOneOwnerAndADenseLocalRow) {
  for (auto sharding : {BankSharding::kBlock, BankSharding::kCyclic}) {
    for (int64_t n : {0, 1, 3, 50, 64, 4096}) {
      for (int g : {1, 2, 3, 4, 7}) {
        ShardLayout layout(n, g, sharding);
        auto idx = torch::arange(n, torch::kInt64);
        auto owner = layout.owner(idx), local = layout.local_row(idx);
        int64_t total = 0, max_rows = 0;
        for (int r = 0; r < g; ++r) {
          const int64_t rows = layout.rows_of(r);
          total += rows;
          max_rows = std::max(max_rows, rows);
          auto mine = local.masked_select(owner.eq(r));
          ASSERT_EQ(mine.numel(), rows) << sharding_name(sharding) << " n=" << n << " g=" << g << " r=" << r;
          if (rows > 0) {
            EXPECT_TRUE(torch::equal(std::get<0>(mine.sort()), torch::arange(rows, torch::kInt64)));
          }
          for (int64_t i = 0; i < rows; ++i) {
            const int64_t global = layout.global_index(r, i);
            ASSERT_EQ(owner[global].item<int64_t>(), r);
            ASSERT_EQ(local[global].item<int64_t>(), i);
          }
        }
        EXPECT_EQ(total, n);
        EXPECT_EQ(layout.max_rows(), max_rows);
        EXPECT_EQ(layout.max_rows(), (n + g - 1) / g);  // memory per rank: ceil(N / g) rows
      }
    }
  }
}

TEST(BankSharding, CyclicSpreadsAGridRowOverEveryOwner) {
  // One router row key (64 consecutive entries of a 64 x 64 grid) lands on one block owner but on
  // every cyclic owner.
  auto row = torch::arange(64 * 5, 64 * 6, torch::kInt64);
  ShardLayout block(4096, 4, BankSharding::kBlock), cyclic(4096, 4, BankSharding::kCyclic);
  EXPECT_EQ(std::get<0>(at::_unique2(block.owner(row))).numel(), 1);
  EXPECT_EQ(std::get<0>(at::_unique2(cyclic.owner(row))).numel(), 4);
}

TEST(BankSharding, NamesAndErrors) {
  EXPECT_EQ(parse_sharding("block"), BankSharding::kBlock);
  EXPECT_EQ(parse_sharding("cyclic"), BankSharding::kCyclic);
  try {
    parse_sharding("round-robin");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("parallel.bank_sharding"), std::string::npos);
  }
  EXPECT_THROW(ShardLayout(10, 0, BankSharding::kBlock), Error);
  EXPECT_THROW(ShardLayout(10, 2, BankSharding::kBlock).rows_of(2), Error);
}

}  // namespace
}  // namespace elm::dist
