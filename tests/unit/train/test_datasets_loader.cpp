// Data order, batching with padding, and the data cursor.
#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "support/assertions.h"
#include "train/data_cursor.h"
#include "train/data_loader.h"
#include "unit/train/test_datasets_util.h"

namespace elm::train {
namespace {

using elm::testing::error_of;
using testutil::synthetic_example;

constexpr std::int32_t kPad = 151643;

Dataset numbered_dataset(int n) {
  std::vector<Example> v;
  for (int i = 0; i < n; ++i) v.push_back(synthetic_example(100 * (i + 1), static_cast<std::size_t>(1 + i % 4)));
  return Dataset::from_examples(std::move(v), DataFormat::pretrain, "numbered");
}

std::vector<std::int64_t> tensor_row(const torch::Tensor& t, std::int64_t r) {
  auto row = t[r].contiguous().to(torch::kInt64);
  return std::vector<std::int64_t>(row.data_ptr<std::int64_t>(), row.data_ptr<std::int64_t>() + row.numel());
}

TEST(DataOrder, IsAPermutationDeterministicPerSeedAndEpoch) {
  auto a = epoch_order(100, 42, 0, true);
  EXPECT_EQ(a, epoch_order(100, 42, 0, true));
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, epoch_order(100, 42, 0, false));  // a permutation of 0..99
  EXPECT_NE(a, sorted);                               // and actually shuffled
  EXPECT_NE(a, epoch_order(100, 43, 0, true));        // another seed, another order
  EXPECT_NE(a, epoch_order(100, 42, 1, true));        // another epoch, another order
  EXPECT_EQ(epoch_order(3, 7, 0, false), (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_TRUE(epoch_order(0, 7, 0, true).empty());
  EXPECT_EQ(epoch_order(1, 7, 0, true), (std::vector<std::int64_t>{0}));
}

TEST(DataOrder, IsFixedAcrossStandardLibraries) {
  // Golden values: mt19937_64 and the explicit Fisher-Yates are specified exactly, so any platform
  // must give this order. A change here breaks resuming old checkpoints.
  EXPECT_EQ(epoch_order(10, 42, 0, true), (std::vector<std::int64_t>{9, 6, 2, 0, 1, 4, 3, 8, 5, 7}));
  EXPECT_EQ(epoch_order(10, 42, 1, true), (std::vector<std::int64_t>{5, 4, 1, 3, 0, 2, 7, 8, 6, 9}));
}

TEST(DataCursor, RoundTripsThroughItsVectorForm) {
  DataCursor c{3, 17, 0xFEDCBA9876543210ULL};
  EXPECT_EQ(DataCursor::from_vector(c.to_vector()), c);
  EXPECT_EQ(c.to_string(), "epoch=3 position=17 seed=18364758544493064720");
  EXPECT_CONTAINS(error_of([] { DataCursor::from_vector({1, 2}); }), "expected 3 values");
  EXPECT_CONTAINS(error_of([] { DataCursor::from_vector({-1, 2, 3}); }), "negative");
}

TEST(DataLoader, EachEpochServesEveryExampleOnceThenAdvances) {
  auto data = numbered_dataset(10);
  DataLoader loader(data, 3, kPad, true, DataCursor{0, 0, 5});
  EXPECT_EQ(loader.batches_per_epoch(), 4);
  std::vector<std::int64_t> seen;
  std::vector<std::int64_t> sizes;
  Batch b;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(loader.next(&b));
    sizes.push_back(b.size());
    seen.insert(seen.end(), b.example_indices.begin(), b.example_indices.end());
  }
  EXPECT_EQ(sizes, (std::vector<std::int64_t>{3, 3, 3, 1}));  // never crosses the epoch boundary
  EXPECT_EQ(seen, epoch_order(10, 5, 0, true));
  EXPECT_EQ(loader.cursor(), (DataCursor{1, 0, 5}));
  ASSERT_TRUE(loader.next(&b));
  auto e1 = epoch_order(10, 5, 1, true);
  EXPECT_EQ(b.example_indices, std::vector<std::int64_t>(e1.begin(), e1.begin() + 3));
  EXPECT_EQ(loader.cursor(), (DataCursor{1, 3, 5}));
}

TEST(DataLoader, WithoutShuffleServesFileOrder) {
  auto data = numbered_dataset(5);
  DataLoader loader(data, 2, kPad, false, DataCursor{0, 0, 99});
  Batch b;
  loader.next(&b);
  EXPECT_EQ(b.example_indices, (std::vector<std::int64_t>{0, 1}));
  loader.next(&b);
  EXPECT_EQ(b.example_indices, (std::vector<std::int64_t>{2, 3}));
}

TEST(DataLoader, ShuffledBatchesDifferAcrossSeeds) {
  auto data = numbered_dataset(20);
  DataLoader a(data, 20, kPad, true, DataCursor{0, 0, 1});
  DataLoader a2(data, 20, kPad, true, DataCursor{0, 0, 1});
  DataLoader b(data, 20, kPad, true, DataCursor{0, 0, 2});
  Batch ba, ba2, bb;
  a.next(&ba);
  a2.next(&ba2);
  b.next(&bb);
  EXPECT_TRUE(torch::equal(ba.input_ids, ba2.input_ids));
  EXPECT_NE(ba.example_indices, bb.example_indices);
  EXPECT_FALSE(torch::equal(ba.input_ids, bb.input_ids));
}

TEST(DataLoader, ResumesExactlyFromASavedCursor) {
  auto data = numbered_dataset(10);
  for (int k : {0, 2, 4, 5, 9}) {  // 4 batches per epoch: k = 4 and 5 cross the epoch boundary
    DataLoader first(data, 3, kPad, true, DataCursor{0, 0, 1234});
    Batch b;
    for (int i = 0; i < k; ++i) first.next(&b);
    DataCursor saved = DataCursor::from_vector(first.cursor().to_vector());  // as a checkpoint stores it
    DataLoader resumed(data, 3, kPad, true, saved);
    EXPECT_EQ(resumed.cursor(), first.cursor());
    for (int i = 0; i < 7; ++i) {
      Batch x, y;
      first.next(&x);
      resumed.next(&y);
      ASSERT_EQ(x.example_indices, y.example_indices) << "k=" << k << " batch " << i;
      EXPECT_TRUE(torch::equal(x.input_ids, y.input_ids));
      EXPECT_TRUE(torch::equal(x.targets, y.targets));
      EXPECT_EQ(first.cursor(), resumed.cursor());
    }
  }
}

TEST(DataLoader, CursorAtTheEndOfAnEpochStartsTheNextAndForeignCursorsAreErrors) {
  auto data = numbered_dataset(4);
  DataLoader end(data, 2, kPad, true, DataCursor{2, 4, 7});
  EXPECT_EQ(end.cursor(), (DataCursor{3, 0, 7}));
  EXPECT_CONTAINS(error_of([&] { DataLoader(data, 2, kPad, true, DataCursor{0, 5, 7}); }), "does not fit");
  EXPECT_CONTAINS(error_of([&] { DataLoader(data, 0, kPad, true); }), "batch size");
}

TEST(DataBatch, PadsWithEndOfTextAndMasksPaddingAndShiftsTargets) {
  // Example 0: 3 tokens, all targets. Example 1: 5 tokens, targets only at positions 3 and 4.
  Example a = synthetic_example(10, 3);
  Example b = synthetic_example(20, 5);
  b.loss_mask = {0, 0, 0, 1, 1};
  auto data = Dataset::from_examples({a, b}, DataFormat::sft);
  Batch batch = collate(data, {1, 0}, kPad);
  ASSERT_EQ(batch.input_ids.sizes(), (torch::IntArrayRef{2, 5}));
  EXPECT_EQ(batch.input_ids.scalar_type(), torch::kInt64);
  EXPECT_EQ(tensor_row(batch.input_ids, 0), (std::vector<std::int64_t>{20, 21, 22, 23, 24}));
  EXPECT_EQ(tensor_row(batch.input_ids, 1), (std::vector<std::int64_t>{10, 11, 12, kPad, kPad}));
  EXPECT_EQ(tensor_row(batch.attention_mask, 0), (std::vector<std::int64_t>{1, 1, 1, 1, 1}));
  EXPECT_EQ(tensor_row(batch.attention_mask, 1), (std::vector<std::int64_t>{1, 1, 1, 0, 0}));
  // targets[t] = input_ids[t + 1] where that token is a target, else -100.
  EXPECT_EQ(tensor_row(batch.targets, 0), (std::vector<std::int64_t>{-100, -100, 23, 24, -100}));
  EXPECT_EQ(tensor_row(batch.targets, 1), (std::vector<std::int64_t>{11, 12, -100, -100, -100}));
  EXPECT_EQ(tensor_row(batch.loss_mask, 0), (std::vector<std::int64_t>{0, 0, 1, 1, 0}));
  EXPECT_EQ(tensor_row(batch.loss_mask, 1), (std::vector<std::int64_t>{1, 1, 0, 0, 0}));
  EXPECT_EQ(batch.loss_mask.scalar_type(), torch::kFloat32);
  EXPECT_FALSE(batch.target_indices.defined());
  EXPECT_EQ(batch.example_indices, (std::vector<std::int64_t>{1, 0}));
}

TEST(DataBatch, RouterTargetsArePaddedWithMinusOneAndZero) {
  Example a = synthetic_example(10, 2);
  a.loss_mask.assign(2, 0);
  a.target_indices = {5};
  a.target_scores = {1.0f};
  Example b = synthetic_example(20, 3);
  b.loss_mask.assign(3, 0);
  b.target_indices = {8, 9};
  b.target_scores = {0.5f, 0.5f};
  auto data = Dataset::from_examples({a, b}, DataFormat::router);
  Batch batch = collate(data, {0, 1}, kPad);
  ASSERT_EQ(batch.target_indices.sizes(), (torch::IntArrayRef{2, 2}));
  EXPECT_EQ(tensor_row(batch.target_indices, 0), (std::vector<std::int64_t>{5, -1}));
  EXPECT_EQ(tensor_row(batch.target_indices, 1), (std::vector<std::int64_t>{8, 9}));
  EXPECT_TRUE(torch::equal(batch.target_scores, torch::tensor({1.0f, 0.0f, 0.5f, 0.5f}).view({2, 2})));
  EXPECT_EQ(batch.loss_mask.sum().item<float>(), 0.0f);  // the router format has no LM targets
  EXPECT_EQ(tensor_row(batch.attention_mask, 0), (std::vector<std::int64_t>{1, 1, 0}));
}

}  // namespace
}  // namespace elm::train
