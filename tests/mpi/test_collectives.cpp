// Multi-rank collectives: bucketed mean, sum, broadcast. Every rank computes the expected result
// from every rank's (seeded) input, and checks that all ranks hold the same bits.
#include <gtest/gtest.h>

#include "mpi/mpi_test_util.h"

namespace elm::dist {
namespace {

using testing::rank_input;
using testing::ranks_differing;

// The mean over ranks of rank_input(seed, r, ...), computed here in float64.
torch::Tensor expected_mean(uint64_t seed, int size, const std::vector<int64_t>& shape, torch::ScalarType dtype) {
  torch::Tensor sum = torch::zeros(shape, torch::kFloat64);
  for (int r = 0; r < size; ++r) sum += rank_input(seed, r, shape, dtype).to(torch::kFloat64);
  return sum / size;
}

TEST(AllReduceMean, ManyTensorsOfMixedSizesDtypesAndLayouts) {
  CommunicatorOptions small;  // 4 KiB buckets: many buckets, some tensors larger than one
  small.bucket_bytes = 4096;
  small.timeout_seconds = 60;
  MpiCommunicator c(MPI_COMM_WORLD, small);
  const std::vector<std::vector<int64_t>> shapes = {{1}, {7}, {1000}, {3, 5}, {100003}, {13}, {0}, {64, 33}, {2}};
  std::vector<torch::Tensor> tensors;
  std::vector<torch::Tensor> expected;
  std::vector<double> tolerance;
  for (size_t i = 0; i < shapes.size(); ++i) {
    // Every third tensor is float64, every fourth bfloat16 (summed in float32), the rest float32.
    const torch::ScalarType dtype = i % 3 == 1 ? torch::kFloat64 : i % 4 == 3 ? torch::kBFloat16 : torch::kFloat32;
    tensors.push_back(rank_input(i, c.rank(), shapes[i], dtype));
    expected.push_back(expected_mean(i, c.size(), shapes[i], dtype));
    tolerance.push_back(dtype == torch::kBFloat16 ? 1e-2 : dtype == torch::kFloat32 ? 1e-6 : 1e-12);
  }
  // A transposed view: updated in place through its strides.
  torch::Tensor base = rank_input(99, c.rank(), {6, 9});
  tensors.push_back(base.t());
  expected.push_back(expected_mean(99, c.size(), {6, 9}, torch::kFloat32).t());
  tolerance.push_back(1e-6);

  c.all_reduce_mean(tensors);
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_TRUE(torch::allclose(tensors[i].to(torch::kFloat64), expected[i], tolerance[i], tolerance[i]))
        << "tensor " << i << " max error "
        << (tensors[i].to(torch::kFloat64) - expected[i]).abs().max().item<double>();
    EXPECT_EQ(ranks_differing(tensors[i], MPI_COMM_WORLD), std::vector<int>{}) << "tensor " << i;
  }
  EXPECT_TRUE(torch::equal(base, tensors.back().t()));
}

TEST(AllReduceMean, IntegerValuedInputsGiveExactMeans) {
  // Sums of small integers are exact in any order: the result must equal sum / size exactly.
  auto c = testing::world();
  auto input = [](int rank) {
    auto gen = at::detail::createCPUGenerator(7 + rank);
    return at::randint(-1000, 1000, {5000}, gen, torch::kFloat32);
  };
  torch::Tensor sum = torch::zeros({5000});
  for (int r = 0; r < c->size(); ++r) sum += input(r);
  std::vector<torch::Tensor> tensors = {input(c->rank())};
  c->all_reduce_mean(tensors);
  EXPECT_TRUE(torch::equal(tensors[0], sum / c->size()));
}

TEST(AllReduceSum, IntegersAndFloats) {
  auto c = testing::world();
  const int64_t triangle = static_cast<int64_t>(c->size()) * (c->size() + 1) / 2;
  torch::Tensor ints = torch::arange(1001, torch::kInt64) * (c->rank() + 1);
  c->all_reduce_sum(ints);
  EXPECT_TRUE(torch::equal(ints, torch::arange(1001, torch::kInt64) * triangle));
  torch::Tensor i32 = torch::full({3}, c->rank() + 1, torch::kInt32);
  c->all_reduce_sum(i32);
  EXPECT_TRUE(torch::equal(i32, torch::full({3}, triangle, torch::kInt32)));
  // 11 elements never split evenly over 2 or 4 ranks: exercises the padded reduce-scatter.
  torch::Tensor f = rank_input(5, c->rank(), {11}, torch::kFloat64);
  c->all_reduce_sum(f);
  torch::Tensor want = torch::zeros({11}, torch::kFloat64);
  for (int r = 0; r < c->size(); ++r) want += rank_input(5, r, {11}, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(f, want, 1e-12, 1e-12));
  EXPECT_EQ(ranks_differing(f, MPI_COMM_WORLD), std::vector<int>{});
}

TEST(Broadcast, FromEveryRootInEveryDtype) {
  auto c = testing::world();
  for (int root = 0; root < c->size(); ++root) {
    for (auto dtype : {torch::kFloat32, torch::kBFloat16, torch::kFloat64}) {
      torch::Tensor t = c->rank() == root ? rank_input(root, root, {37, 3}, dtype) : torch::zeros({37, 3}, dtype);
      c->broadcast(t, root);
      EXPECT_TRUE(torch::equal(t, rank_input(root, root, {37, 3}, dtype))) << "root " << root;
    }
    torch::Tensor ids = c->rank() == root ? torch::arange(100, torch::kInt64) + root : torch::zeros({100}, torch::kInt64);
    c->broadcast(ids, root);
    EXPECT_TRUE(torch::equal(ids, torch::arange(100, torch::kInt64) + root));
  }
  // Into a non-contiguous destination.
  torch::Tensor base = torch::zeros({4, 5});
  torch::Tensor view = base.t();
  if (c->rank() == 0) view.copy_(torch::arange(20, torch::kFloat32).view({5, 4}));
  c->broadcast(view, 0);
  EXPECT_TRUE(torch::equal(view, torch::arange(20, torch::kFloat32).view({5, 4})));
}

TEST(SubGroup, CollectivesStayInsideTheGroup) {
  auto world = testing::world();
  // Even and odd world ranks form two groups.
  MPI_Comm parity = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, world->rank() % 2, world->rank(), &parity);
  {
    CommunicatorOptions options;
    options.name = "parity group";
    options.timeout_seconds = 60;
    MpiCommunicator c(parity, options);
    EXPECT_EQ(c.rank(), world->rank() / 2);
    EXPECT_EQ(c.where(), "rank " + std::to_string(c.rank()) + " of " + std::to_string(c.size()) +
                             " in parity group (world rank " + std::to_string(world->rank()) + ")");
    torch::Tensor t = torch::full({4}, world->rank(), torch::kInt64);
    c.all_reduce_sum(t);
    int64_t want = 0;
    for (int r = world->rank() % 2; r < world->size(); r += 2) want += r;
    EXPECT_TRUE(torch::equal(t, torch::full({4}, want, torch::kInt64)));
  }
  MPI_Comm_free(&parity);
}

}  // namespace
}  // namespace elm::dist
