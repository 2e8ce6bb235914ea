// The MPI backend in a world of one rank (MPI singleton, no launcher): every operation runs, and
// argument errors name the operation and the rank before any communication.
#include <gtest/gtest.h>

#include "support/assertions.h"
#include "dist/mpi_communicator.h"
#include "dist/process_grid.h"
#include "unit/dist/dist_test_util.h"

namespace elm::dist {
namespace {

using elm::testing::error_of;

class SingleRank : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::ensure_mpi();
    comm_ = std::make_unique<MpiCommunicator>(MPI_COMM_WORLD);
  }
  std::unique_ptr<MpiCommunicator> comm_;
};

TEST_F(SingleRank, CollectivesOfOneRankKeepTheData) {
  Communicator& c = *comm_;
  EXPECT_EQ(c.rank(), 0);
  EXPECT_EQ(c.size(), 1);
  EXPECT_STREQ(c.backend(), "mpi");
  EXPECT_EQ(c.where(), "rank 0 of 1");
  torch::Tensor a = torch::arange(6, torch::kFloat32).view({2, 3});
  torch::Tensor b = torch::arange(4, torch::kBFloat16);
  std::vector<torch::Tensor> list = {a, b};
  c.all_reduce_mean(list);
  EXPECT_TRUE(torch::equal(a, torch::arange(6, torch::kFloat32).view({2, 3})));
  torch::Tensor s = torch::arange(5, torch::kInt64);
  c.all_reduce_sum(s);
  EXPECT_TRUE(torch::equal(s, torch::arange(5, torch::kInt64)));
  torch::Tensor odd = torch::arange(7, torch::kFloat64);  // does not split evenly: padded path
  c.all_reduce_sum(odd);
  EXPECT_TRUE(torch::equal(odd, torch::arange(7, torch::kFloat64)));
  c.broadcast(a, 0);
  c.barrier();
  AllToAllResult r = c.all_to_all(torch::arange(12, torch::kInt64).view({4, 3}), {4});
  EXPECT_EQ(r.recv_counts, (std::vector<int64_t>{4}));
  EXPECT_TRUE(torch::equal(r.data, torch::arange(12, torch::kInt64).view({4, 3})));
  torch::Tensor empty = c.all_to_all_v(torch::zeros({0}, torch::kInt64), {0}, {0});
  EXPECT_EQ(empty.numel(), 0);
}

TEST_F(SingleRank, NonContiguousTensorsAreUpdatedInPlace) {
  torch::Tensor base = torch::arange(12, torch::kFloat32).view({3, 4});
  torch::Tensor column_major = base.t();
  comm_->all_reduce_sum(column_major);
  EXPECT_TRUE(torch::equal(base, torch::arange(12, torch::kFloat32).view({3, 4})));
  torch::Tensor rows = torch::arange(8, torch::kInt32).view({4, 2}).t();  // [2, 4], non-contiguous
  torch::Tensor out = comm_->all_to_all_v(rows, {2}, {2});
  EXPECT_TRUE(torch::equal(out, rows));
}

TEST_F(SingleRank, ArgumentErrorsNameOperationAndRank) {
  Communicator& c = *comm_;
  torch::Tensor rows = torch::zeros({4, 2});
  EXPECT_CONTAINS(error_of([&] { c.all_to_all_v(rows, {3}, {3}); }),
                  "all_to_all_v on rank 0 of 1: send_counts [3] sum to 3 rows but the send tensor has 4");
  EXPECT_CONTAINS(error_of([&] { c.all_to_all_v(rows, {4, 0}, {4}); }),
                  "all_to_all_v on rank 0 of 1: needs one send and one receive count per rank (1), got 2 and 1");
  EXPECT_CONTAINS(error_of([&] { c.all_to_all_v(rows, {4}, {-1}); }), "negative count for rank 0");
  EXPECT_CONTAINS(error_of([&] { c.exchange_counts({1, 2}); }), "exchange_counts on rank 0 of 1: needs one count per rank");
  EXPECT_CONTAINS(error_of([&] { c.broadcast(rows, 1); }), "broadcast on rank 0 of 1: root rank 1 is not in 0..0");
  EXPECT_CONTAINS(error_of([&] { c.send(rows, 0, 0); }), "send on rank 0 of 1: sending to itself would block forever");
  EXPECT_CONTAINS(error_of([&] { c.recv(rows, 3, 0); }), "recv on rank 0 of 1: source rank 3 is not in 0..0");
  std::vector<torch::Tensor> ints = {torch::zeros({2}, torch::kInt64)};
  EXPECT_CONTAINS(error_of([&] { c.all_reduce_mean(ints); }),
                  "all_reduce_mean on rank 0 of 1: tensor 0 has dtype Long; a mean needs floating-point tensors");
  torch::Tensor flags = torch::zeros({2}, torch::kBool);
  EXPECT_CONTAINS(error_of([&] { c.all_reduce_sum(flags); }),
                  "all_reduce_sum on rank 0 of 1: tensors of dtype Bool cannot be summed across ranks");
  torch::Tensor complex = torch::zeros({2}, torch::kComplexFloat);
  EXPECT_CONTAINS(error_of([&] { c.broadcast(complex, 0); }), "MPI_Bcast on rank 0 of 1: no MPI datatype");
}

TEST_F(SingleRank, TimeoutAndBucketOptionsAreValidated) {
  CommunicatorOptions bad;
  bad.timeout_seconds = 0;
  EXPECT_CONTAINS(error_of([&] { MpiCommunicator c(MPI_COMM_WORLD, bad); }), "parallel.timeout_seconds must be > 0");
}

TEST_F(SingleRank, GridOfOneRank) {
  ParallelOptions options;
  ProcessGrid grid(options, MPI_COMM_WORLD, torch::kCPU);
  EXPECT_EQ(grid.layout().dp, 1);
  EXPECT_EQ(grid.stage(), 0);
  EXPECT_EQ(grid.dp_rank(), 0);
  EXPECT_EQ(grid.dp().size(), 1);
  EXPECT_EQ(grid.pipeline().size(), 1);
  EXPECT_EQ(grid.world().where(), "rank 0 of 1");
  EXPECT_EQ(grid.dp().where(), "rank 0 of 1 in dp group of stage 0 (world rank 0)");
  options.dp = 2;
  EXPECT_CONTAINS(error_of([&] { ProcessGrid g(options, MPI_COMM_WORLD, torch::kCPU); }),
                  "parallel.pp * parallel.dp = 1 * 2 = 2 but the MPI world has 1 rank");
}

}  // namespace
}  // namespace elm::dist
