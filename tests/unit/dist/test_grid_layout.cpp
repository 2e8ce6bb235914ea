// Process grid arithmetic: stage/dp-rank layout, group membership, validation messages (the
// grid itself is tested under mpiexec: tests/mpi/test_grid.cpp).
#include <gtest/gtest.h>

#include "support/assertions.h"
#include "dist/grid_layout.h"

namespace elm::dist {
namespace {

using elm::testing::error_of;

TEST(GridLayout, StagesAreBlocksOfConsecutiveRanks) {
  GridLayout g = GridLayout::make(6, 2, 3);
  EXPECT_EQ(g.pp, 2);
  EXPECT_EQ(g.dp, 3);
  const int stage[] = {0, 0, 0, 1, 1, 1};
  const int dp_rank[] = {0, 1, 2, 0, 1, 2};
  for (int r = 0; r < 6; ++r) {
    EXPECT_EQ(g.stage_of(r), stage[r]) << r;
    EXPECT_EQ(g.dp_rank_of(r), dp_rank[r]) << r;
    EXPECT_EQ(g.rank_of(g.stage_of(r), g.dp_rank_of(r)), r);
  }
  EXPECT_EQ(g.dp_group(0), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(g.dp_group(1), (std::vector<int>{3, 4, 5}));
  EXPECT_EQ(g.pipeline_group(0), (std::vector<int>{0, 3}));
  EXPECT_EQ(g.pipeline_group(2), (std::vector<int>{2, 5}));
}

TEST(GridLayout, DpZeroMeansWorldOverPp) {
  EXPECT_EQ(GridLayout::make(4, 1, 0).dp, 4);
  EXPECT_EQ(GridLayout::make(8, 2, 0).dp, 4);
  EXPECT_EQ(GridLayout::make(1, 1, 0).dp, 1);
}

TEST(GridLayout, ErrorsNameTheValues) {
  EXPECT_CONTAINS(error_of([] { GridLayout::make(4, 0, 0); }), "parallel.pp = 0 must be >= 1");
  EXPECT_CONTAINS(error_of([] { GridLayout::make(4, 1, -1); }), "parallel.dp = -1 must be >= 0");
  EXPECT_CONTAINS(error_of([] { GridLayout::make(4, 3, 0); }), "parallel.pp = 3 does not divide the MPI world size 4");
  EXPECT_CONTAINS(error_of([] { GridLayout::make(4, 2, 3); }),
                  "parallel.pp * parallel.dp = 2 * 3 = 6 but the MPI world has 4 ranks");
  EXPECT_CONTAINS(error_of([] { GridLayout::make(1, 1, 2); }), "= 2 but the MPI world has 1 rank ");
  GridLayout g = GridLayout::make(4, 2, 2);
  EXPECT_CONTAINS(error_of([&] { g.dp_group(2); }), "stage 2 is not in 0..1");
  EXPECT_CONTAINS(error_of([&] { g.pipeline_group(-1); }), "dp rank -1 is not in 0..1");
}

}  // namespace
}  // namespace elm::dist
