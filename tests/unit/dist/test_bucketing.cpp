// The all-reduce bucket plan: grouping by dtype and device, packing in order, the size limit.
#include <gtest/gtest.h>

#include "support/assertions.h"
#include "dist/bucketing.h"

namespace elm::dist {
namespace {

using elm::testing::error_of;
using Indices = std::vector<size_t>;

torch::Tensor f32(int64_t n) { return torch::zeros({n}, torch::kFloat32); }

TEST(Bucketing, PacksInOrderUpToTheLimit) {
  // 4-byte elements, 40-byte buckets: 4+4 fit (32 B), the third (4 el) would make 48 B.
  std::vector<torch::Tensor> t = {f32(4), f32(4), f32(4), f32(2), f32(10)};
  auto plan = plan_buckets(t, 40);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].tensors, (Indices{0, 1}));
  EXPECT_EQ(plan[0].numel, 8);
  EXPECT_EQ(plan[0].bytes, 32);
  EXPECT_EQ(plan[1].tensors, (Indices{2, 3}));
  EXPECT_EQ(plan[1].bytes, 24);
  EXPECT_EQ(plan[2].tensors, (Indices{4}));  // exactly 40 bytes: fits alone
  EXPECT_EQ(plan[2].bytes, 40);
}

TEST(Bucketing, ATensorLargerThanABucketGetsItsOwn) {
  std::vector<torch::Tensor> t = {f32(1), f32(100), f32(1)};
  auto plan = plan_buckets(t, 16);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].tensors, (Indices{0}));
  EXPECT_EQ(plan[1].tensors, (Indices{1}));
  EXPECT_EQ(plan[1].bytes, 400);
  EXPECT_EQ(plan[2].tensors, (Indices{2}));
}

TEST(Bucketing, GroupsByDtypeInOrderOfFirstAppearance) {
  std::vector<torch::Tensor> t = {torch::zeros({3}, torch::kFloat64), f32(2), torch::zeros({2, 2}, torch::kFloat64),
                                  torch::zeros({5}, torch::kBFloat16), f32(1)};
  auto plan = plan_buckets(t, 1 << 20);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].dtype, torch::kFloat64);
  EXPECT_EQ(plan[0].tensors, (Indices{0, 2}));
  EXPECT_EQ(plan[0].numel, 7);
  EXPECT_EQ(plan[0].bytes, 56);
  EXPECT_EQ(plan[1].dtype, torch::kFloat32);
  EXPECT_EQ(plan[1].tensors, (Indices{1, 4}));
  EXPECT_EQ(plan[2].dtype, torch::kBFloat16);
  EXPECT_EQ(plan[2].bytes, 10);  // counted in the tensor's own dtype, not the f32 it is summed in
}

TEST(Bucketing, SkipsEmptyTensorsAndCountsAnyLayout) {
  torch::Tensor strided = torch::zeros({4, 6}).t();  // non-contiguous: numel still counts
  std::vector<torch::Tensor> t = {f32(0), strided, torch::zeros({0, 3})};
  auto plan = plan_buckets(t, 1024);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].tensors, (Indices{1}));
  EXPECT_EQ(plan[0].numel, 24);
  EXPECT_TRUE(plan_buckets({}, 1024).empty());
}

TEST(Bucketing, RejectsABadSizeAndUndefinedTensors) {
  EXPECT_CONTAINS(error_of([] { plan_buckets({f32(1)}, 0); }), "bucket size must be > 0 bytes, got 0");
  EXPECT_CONTAINS(error_of([] { plan_buckets({f32(1), torch::Tensor()}, 16); }), "tensor 1 of 2 is undefined");
}

}  // namespace
}  // namespace elm::dist
