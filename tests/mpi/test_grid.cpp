// The process grid on several ranks: pp = 1 gives one DP group of the whole world and pipeline
// groups of one rank; invalid shapes fail the same way on every rank.
#include <gtest/gtest.h>

#include "dist/process_grid.h"
#include "mpi/mpi_test_util.h"
#include "support/assertions.h"

namespace elm::dist {
namespace {

using elm::testing::error_of;

TEST(Grid, DataParallelOverTheWholeWorld) {
  ParallelOptions options;
  options.timeout_seconds = 60;
  ProcessGrid grid(options, MPI_COMM_WORLD, torch::kCPU);
  auto world = testing::world();
  EXPECT_EQ(grid.layout().pp, 1);
  EXPECT_EQ(grid.layout().dp, world->size());
  EXPECT_EQ(grid.stage(), 0);
  EXPECT_EQ(grid.dp_rank(), world->rank());
  EXPECT_EQ(grid.dp().size(), world->size());
  EXPECT_EQ(grid.dp().rank(), world->rank());
  EXPECT_EQ(grid.pipeline().size(), 1);
  EXPECT_STREQ(grid.dp().backend(), "mpi");
  EXPECT_CONTAINS(grid.dp().where(), "in dp group of stage 0");
  // A DP gradient average over the grid equals one over the world.
  std::vector<torch::Tensor> grads = {testing::rank_input(31, world->rank(), {257})};
  grid.dp().all_reduce_mean(grads);
  torch::Tensor want = torch::zeros({257});
  for (int r = 0; r < world->size(); ++r) want += testing::rank_input(31, r, {257});
  EXPECT_TRUE(torch::allclose(grads[0], want / world->size(), 1e-6, 1e-6));
  EXPECT_EQ(testing::ranks_differing(grads[0], MPI_COMM_WORLD), std::vector<int>{});
}

TEST(Grid, TwoPipelineStagesSplitTheWorldIntoStageAndPipelineGroups) {
  const int size = testing::world()->size();
  ParallelOptions options;
  options.pp = 2;
  ProcessGrid grid(options, MPI_COMM_WORLD, torch::kCPU);
  const int dp = size / 2;
  EXPECT_EQ(grid.stage(), grid.rank() / dp);
  EXPECT_EQ(grid.dp().size(), dp);
  EXPECT_EQ(grid.pipeline().size(), 2);
  EXPECT_EQ(grid.pipeline().rank(), grid.stage());
  EXPECT_STREQ(grid.pipeline().backend(), "mpi");
  // The pipeline group links stage 0 and stage 1 of the same dp rank.
  auto mine = torch::full({3}, static_cast<double>(grid.rank()), torch::kFloat64);
  if (grid.stage() == 0) {
    grid.pipeline().send(mine, 1, 5);
  } else {
    auto got = torch::empty({3}, torch::kFloat64);
    grid.pipeline().recv(got, 0, 5);
    EXPECT_EQ(got[0].item<double>(), static_cast<double>(grid.rank() - dp));
  }
}

TEST(Grid, ShapesThatDoNotFitTheWorldAreRefusedOnEveryRank) {
  const int size = testing::world()->size();
  ParallelOptions options;
  options.pp = size + 1;
  EXPECT_CONTAINS(error_of([&] { ProcessGrid g(options, MPI_COMM_WORLD, torch::kCPU); }),
                  "parallel.pp = " + std::to_string(size + 1) + " does not divide the MPI world size " +
                      std::to_string(size));
  options.pp = 1;
  options.dp = size + 1;
  EXPECT_CONTAINS(error_of([&] { ProcessGrid g(options, MPI_COMM_WORLD, torch::kCPU); }),
                  "parallel.pp * parallel.dp = 1 * " + std::to_string(size + 1) + " = " + std::to_string(size + 1) +
                      " but the MPI world has " + std::to_string(size) + " ranks");
}

}  // namespace
}  // namespace elm::dist
