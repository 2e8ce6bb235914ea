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

TEST(Grid, ShapesThatDoNotFitTheWorldAreRefusedOnEveryRank) {
  const int size = testing::world()->size();
  ParallelOptions options;
  options.pp = 2;
  EXPECT_CONTAINS(error_of([&] { ProcessGrid g(options, MPI_COMM_WORLD, torch::kCPU); }),
                  "parallel.pp = 2: pipeline parallelism is not implemented yet");
  options.pp = 1;
  options.dp = size + 1;
  EXPECT_CONTAINS(error_of([&] { ProcessGrid g(options, MPI_COMM_WORLD, torch::kCPU); }),
                  "parallel.pp * parallel.dp = 1 * " + std::to_string(size + 1) + " = " + std::to_string(size + 1) +
                      " but the MPI world has " + std::to_string(size) + " ranks");
}

}  // namespace
}  // namespace elm::dist
