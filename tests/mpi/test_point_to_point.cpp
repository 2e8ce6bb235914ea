// Multi-rank send/recv: a ring (ordered by rank parity so blocking sends cannot deadlock), large
// messages, and size mismatches reported as errors naming the call and the rank.
#include <gtest/gtest.h>

#include "mpi/mpi_test_util.h"
#include "support/assertions.h"

namespace elm::dist {
namespace {

using elm::testing::error_of;

TEST(PointToPoint, RingOfLargeMessages) {
  auto c = testing::world();
  const int next = (c->rank() + 1) % c->size();
  const int prev = (c->rank() + c->size() - 1) % c->size();
  // 1M floats: far above the eager limit, so MPI_Send blocks until the receive is posted.
  torch::Tensor out = testing::rank_input(21, c->rank(), {1 << 20});
  torch::Tensor in = torch::empty({1 << 20});
  if (c->rank() % 2 == 0) {
    c->send(out, next, 5);
    c->recv(in, prev, 5);
  } else {
    c->recv(in, prev, 5);
    c->send(out, next, 5);
  }
  EXPECT_TRUE(torch::equal(in, testing::rank_input(21, prev, {1 << 20})));
  // int64 and bfloat16 with distinct tags, into a non-contiguous destination.
  torch::Tensor ids_in = torch::zeros({3, 2}, torch::kInt64).t();
  torch::Tensor half_in = torch::empty({9}, torch::kBFloat16);
  if (c->rank() % 2 == 0) {
    c->send(torch::arange(6, torch::kInt64).view({2, 3}) + c->rank(), next, 1);
    c->send(testing::rank_input(22, c->rank(), {9}, torch::kBFloat16), next, 2);
    c->recv(ids_in, prev, 1);
    c->recv(half_in, prev, 2);
  } else {
    c->recv(ids_in, prev, 1);
    c->recv(half_in, prev, 2);
    c->send(torch::arange(6, torch::kInt64).view({2, 3}) + c->rank(), next, 1);
    c->send(testing::rank_input(22, c->rank(), {9}, torch::kBFloat16), next, 2);
  }
  EXPECT_TRUE(torch::equal(ids_in, torch::arange(6, torch::kInt64).view({2, 3}) + prev));
  EXPECT_TRUE(torch::equal(half_in, testing::rank_input(22, prev, {9}, torch::kBFloat16)));
}

TEST(PointToPoint, SizeMismatchesAreErrorsNamingCallAndRank) {
  auto c = testing::world();
  if (c->rank() == 0) {
    c->send(torch::zeros({10}), 1, 7);  // more than rank 1 expects
    c->send(torch::zeros({3}), 1, 8);   // fewer than rank 1 expects
  } else if (c->rank() == 1) {
    torch::Tensor small = torch::empty({5});
    EXPECT_CONTAINS(error_of([&] { c->recv(small, 0, 7); }), "MPI_Recv failed on rank 1 of ");
    EXPECT_CONTAINS(error_of([&] { c->recv(small, 0, 8); }),
                    "MPI_Recv on rank 1 of " + std::to_string(c->size()) + ": expected 5 elements from rank 0 (tag 8), got 3");
  }
  c->barrier();
}

}  // namespace
}  // namespace elm::dist
