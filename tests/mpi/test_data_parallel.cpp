// Data-parallel training steps under several ranks: the gradients of a global micro-batch split
// over the ranks (sharded bank, per-rank slices, loss means over the global batch, averaged
// gradients) equal the gradients one process computes on the whole batch with the whole bank
// (relative 1e-5, plus 1e-6 of the largest gradient: f32 sums in another order; whole training
// runs are compared in
// tests/unit/app/test_cli_train_parallel.cpp), for
// the joint and router stages and with a rank left without rows; the parameter agreement check
// passes for identical parameters and fails on every rank when one rank's copy differs;
// gather_bank returns the whole bank from the shards.
#include <gtest/gtest.h>

#include "core/error.h"
#include "dist/sharded_bank_reader.h"
#include "memory/explicit_lm.h"
#include "mpi_test_util.h"
#include "support/small_explicit_lm.h"
#include "train/data_parallel.h"
#include "train/step_losses.h"

namespace elm::train {
namespace {

using dist::testing::world;

// A global micro-batch of `rows` right-padded rows of different lengths, each with loss targets
// and a named bank entry (the same on every rank).
Batch global_batch(int64_t rows) {
  auto gen = memory::make_generator(17);
  const int64_t T = 9;
  Batch b;
  b.input_ids = torch::randint(1, 256, {rows, T}, gen, torch::kInt64);
  b.attention_mask = torch::ones({rows, T}, torch::kInt64);
  b.targets = torch::full({rows, T}, kIgnoreIndex, torch::kInt64);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t len = 4 + (r * 3) % (T - 3);
    b.input_ids[r].narrow(0, len, T - len).fill_(testing::kPad);
    b.attention_mask[r].narrow(0, len, T - len).fill_(0);
    for (int64_t t = len / 2; t < len - 1; ++t) b.targets[r][t] = b.input_ids[r][t + 1];
  }
  b.loss_mask = b.targets.ne(kIgnoreIndex).to(torch::kFloat32);
  b.target_indices = torch::randint(0, 64, {rows, 2}, gen, torch::kInt64);
  b.target_indices.select(1, 1).fill_(-1);  // one named entry per row, padded like the collator does
  b.target_scores = torch::ones({rows, 2}, torch::kFloat32);
  b.target_scores.select(1, 1).fill_(0);
  for (int64_t r = 0; r < rows; ++r) b.example_indices.push_back(r);
  return b;
}

// Rows [begin, end) of a batch, cut to their longest row (as collate would pad them).
Batch slice(const Batch& b, int64_t begin, int64_t end) {
  Batch s;
  const int64_t T = b.attention_mask.narrow(0, begin, end - begin).sum(1).max().item<int64_t>();
  auto cut = [&](const torch::Tensor& t) { return t.narrow(0, begin, end - begin).narrow(1, 0, T).contiguous(); };
  s.input_ids = cut(b.input_ids);
  s.attention_mask = cut(b.attention_mask);
  s.targets = cut(b.targets);
  s.loss_mask = cut(b.loss_mask);
  s.target_indices = b.target_indices.narrow(0, begin, end - begin).contiguous();
  s.target_scores = b.target_scores.narrow(0, begin, end - begin).contiguous();
  s.example_indices.assign(b.example_indices.begin() + begin, b.example_indices.begin() + end);
  return s;
}

memory::MemoryConfig dp_memory() {
  auto m = testing::small_memory(memory::QueryPooling::kWeightedPrefix, 32, {0, 2});
  m.dropout = 0.1;  // dropout masks and Gumbel noise must follow the rows, not the split
  m.selection = memory::SelectionMode::kLearned;
  return m;
}

NamedTensors gradients_of(memory::ExplicitLM& lm) {
  NamedTensors out;
  for (auto& [name, p] : lm.named_trainable_parameters()) {
    out.emplace_back(name, p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
  }
  return out;
}

void zero_gradients(memory::ExplicitLM& lm) {
  for (auto& [name, p] : lm.named_trainable_parameters()) p.mutable_grad() = torch::Tensor();
}

void expect_dp_gradients_equal_one_process(Stage stage, int64_t rows) {
  auto comm = world();
  LossWeights w;
  w.router = 0.5;
  auto whole_bank = testing::small_bank();
  const auto full = global_batch(rows);
  std::vector<uint64_t> seeds;
  for (int64_t r = 0; r < rows; ++r) seeds.push_back(row_seed(42, 3, 1, r));

  // One process: the whole batch, the whole bank.
  memory::ExplicitLM one(testing::small_backbone(), whole_bank, dp_memory(), 7);
  one.train();
  auto single = memory_step_losses(one, full, stage, w, {}, seeds);
  single.total.backward();
  const auto want = gradients_of(one);

  // This rank: its rows, its shard of the bank, the group's sums.
  const int64_t n = whole_bank->num_entries();
  dist::ShardLayout layout(n, comm->size(), dist::BankSharding::kBlock);
  auto all = gather_bank(*whole_bank);
  auto [tokens, valid] = dist::slice_shard(layout, comm->rank(), all.first, all.second);
  auto sharded = std::make_shared<dist::ShardedBankReader>(*comm, layout, tokens, valid, whole_bank->entry_length(),
                                                           whole_bank->pad_id());
  memory::ExplicitLM mine(testing::small_backbone(), sharded, dp_memory(), 7);
  mine.train();
  const RowRange range = shard_rows(rows, comm->size(), comm->rank());
  const GlobalBatch global{comm.get(), range.empty()};
  const Batch local = range.empty() ? slice(full, 0, 1) : slice(full, range.begin, range.end);
  std::vector<uint64_t> local_seeds(seeds.begin() + (range.empty() ? 0 : range.begin),
                                    seeds.begin() + (range.empty() ? 1 : range.end));
  auto dp = memory_step_losses(mine, local, stage, w, global, local_seeds);
  if (!global.placeholder) dp.total.backward();
  NamedTensors params = mine.named_trainable_parameters();
  all_reduce_gradients(*comm, params);
  const auto got = gradients_of(mine);

  EXPECT_NEAR(dp.loss, single.total.item<double>(), 1e-6 * std::abs(single.total.item<double>()));
  EXPECT_NEAR(dp.router, single.router, 1e-6 * std::abs(single.router));
  if (stage == Stage::joint) {
    EXPECT_NEAR(dp.ce, single.ce, 1e-6 * std::abs(single.ce));
    EXPECT_NEAR(dp.similarity, single.similarity, 1e-6);
    EXPECT_NEAR(dp.diversity, single.diversity, 1e-6);
  }
  EXPECT_EQ(dp.rows, rows);
  EXPECT_EQ(dp.tokens, single.tokens);
  ASSERT_EQ(got.size(), want.size());
  double largest = 0;
  for (const auto& [name, g] : want) largest = std::max(largest, g.norm().item<double>());
  for (size_t i = 0; i < got.size(); ++i) {
    // Gradients are f32 sums over every token in another order: rounding at ~1e-6 of |g|, and of
    // the summands for a gradient that cancels to something small (a bias, a scale), hence the
    // floor relative to the largest gradient.
    const double scale = want[i].second.norm().item<double>();
    const double diff = (got[i].second - want[i].second).norm().item<double>();
    EXPECT_LE(diff, 1e-5 * scale + 1e-6 * largest) << want[i].first << " on " << comm->where() << " (|g| = " << scale
                                                   << ", largest " << largest << ")";
  }
  // Every rank holds the same averaged gradients, bit for bit.
  for (const auto& [name, g] : got) EXPECT_TRUE(dist::testing::ranks_differing(g, MPI_COMM_WORLD).empty()) << name;
  zero_gradients(one);
}

TEST(DataParallelStep, JointGradientsEqualOneProcess) { expect_dp_gradients_equal_one_process(Stage::joint, 7); }

TEST(DataParallelStep, RouterGradientsEqualOneProcess) { expect_dp_gradients_equal_one_process(Stage::router, 6); }

TEST(DataParallelStep, ARankWithoutRowsContributesNothing) {
  // Fewer rows than ranks: the last ranks run the stand-in.
  auto comm = world();
  expect_dp_gradients_equal_one_process(Stage::joint, std::max(1, comm->size() - 1));
}

TEST(DataParallelStep, ParameterAgreementIsCheckedOnEveryRank) {
  auto comm = world();
  NamedTensors params = {{"a", torch::arange(6, torch::kFloat32)}, {"b", torch::ones({2, 3})}};
  EXPECT_NO_THROW(check_parameters_agree(*comm, params, 5));
  if (comm->rank() == comm->size() - 1) params[1].second[1][2] = 1.0f + 1e-7f;  // one ulp-ish apart
  try {
    check_parameters_agree(*comm, params, 5);
    ADD_FAILURE() << "no error on " << comm->where();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("step 5: the parameters differ between data-parallel ranks"), std::string::npos)
        << e.what();
  }
}

TEST(DataParallelStep, GatherBankReturnsTheWholeBankFromTheShards) {
  auto comm = world();
  auto whole = testing::small_bank();
  auto all = gather_bank(*whole);
  for (auto sharding : {dist::BankSharding::kBlock, dist::BankSharding::kCyclic}) {
    dist::ShardLayout layout(all.first.size(0), comm->size(), sharding);
    auto [tokens, valid] = dist::slice_shard(layout, comm->rank(), all.first, all.second);
    dist::ShardedBankReader sharded(*comm, layout, tokens, valid, whole->entry_length(), whole->pad_id());
    auto got = gather_bank(sharded, /*chunk=*/5);  // chunks that do not divide N
    EXPECT_TRUE(torch::equal(got.first, all.first));
    EXPECT_TRUE(torch::equal(got.second, all.second));
  }
}

}  // namespace
}  // namespace elm::train
