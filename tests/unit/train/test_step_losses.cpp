// The training stages on a small random backbone: CE only at loss positions equals CE over full
// logits, query positions, the per-example bank overlay, and a few AdamW steps of every stage
// reduce its loss (the memory stages train only memory parameters, the backbone stage only the
// backbone).
#include <gtest/gtest.h>

#include "memory/explicit_lm.h"
#include "model/qwen3_model.h"
#include "model/tiny_qwen3.h"
#include "support/small_explicit_lm.h"
#include "support/assertions.h"
#include "memory/candidates.h"
#include "train/bank_overlay.h"
#include "train/optimizer.h"
#include "train/step_losses.h"

namespace elm::train {
namespace {

// The shared small shape (tests/support), with a 128-token vocabulary and 2 layers.
model::Qwen3Config small_config() {
  model::Qwen3Config c = testing::small_config();
  c.vocab_size = 128;
  c.num_hidden_layers = 2;
  return c;
}

std::shared_ptr<model::Qwen3Model> small_backbone(uint64_t seed = 3) {
  return std::make_shared<model::Qwen3Model>(small_config(), model::random_qwen3_weights(small_config(), seed),
                                             torch::kFloat32);
}

constexpr int64_t kPad = 0;

std::shared_ptr<memory::LocalBankReader> small_bank() {
  torch::manual_seed(5);
  auto tokens = torch::randint(1, 128, {64, 4}, torch::kInt64);
  return std::make_shared<memory::LocalBankReader>(tokens, torch::ones({64}, torch::kBool), kPad);
}

memory::MemoryConfig small_memory() {
  memory::MemoryConfig m = testing::small_memory(memory::QueryPooling::kCausalPrefix, 32, {0});
  m.selection = memory::SelectionMode::kLearned;
  m.normalize_selected = true;
  return m;
}

// Two right-padded rows: row 0 has targets on its last two tokens, row 1 (shorter) on its last one;
// both name a bank entry.
Batch small_batch() {
  Batch b;
  b.input_ids = torch::tensor(std::vector<int64_t>{5, 17, 20, 42, 7, 99, 3, 8, 64, 1, kPad, kPad}).view({2, 6});
  b.attention_mask = b.input_ids.ne(kPad).to(torch::kInt64);
  b.targets = torch::full({2, 6}, kIgnoreIndex, torch::kInt64);
  b.targets[0][3] = 7;
  b.targets[0][4] = 99;
  b.targets[1][2] = 64;
  b.loss_mask = b.targets.ne(kIgnoreIndex).to(torch::kFloat32);
  b.target_indices = torch::tensor(std::vector<int64_t>{11, 37}).view({2, 1});
  b.target_scores = torch::ones({2, 1}, torch::kFloat32);
  b.example_indices = {0, 1};
  return b;
}

TEST(StepLosses, MaskedLmLossEqualsCrossEntropyOverFullLogits) {
  auto model = small_backbone();
  Batch b = small_batch();
  model::ForwardOptions fo;
  fo.attention_mask = b.attention_mask;
  auto full = model->forward(b.input_ids, fo);
  auto expected = torch::nn::functional::cross_entropy(
      full.logits.view({-1, full.logits.size(-1)}), b.targets.view({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnoreIndex));
  int64_t count = 0;
  auto got = masked_lm_loss(*model, full.hidden, b.targets, &count);
  EXPECT_EQ(count, 3);
  EXPECT_NEAR(got.item<double>(), expected.item<double>(), 1e-5);
  // No target at all: zero, but still differentiable.
  auto none = torch::full_like(b.targets, kIgnoreIndex);
  EXPECT_EQ(masked_lm_loss(*model, full.hidden, none, &count).item<double>(), 0.0);
  EXPECT_EQ(count, 0);
}

TEST(StepLosses, QueryPositionIsTheFirstTargetElseTheLastToken) {
  Batch b = small_batch();
  auto pos = query_positions(b);
  EXPECT_EQ(pos[0].item<int64_t>(), 3);
  EXPECT_EQ(pos[1].item<int64_t>(), 2);
  b.targets.fill_(kIgnoreIndex);
  pos = query_positions(b);
  EXPECT_EQ(pos[0].item<int64_t>(), 5);  // last real token of the full row
  EXPECT_EQ(pos[1].item<int64_t>(), 3);  // last real token before the padding
}

TEST(BankOverlay, OverridesOnlyItsOwnBatchRow) {
  auto bank = small_bank();
  std::vector<std::map<int64_t, std::vector<int32_t>>> rows(2);
  rows[1][7] = {9, 9, 9, static_cast<int32_t>(kPad)};
  rows[0][3] = {static_cast<int32_t>(kPad), static_cast<int32_t>(kPad), static_cast<int32_t>(kPad),
                static_cast<int32_t>(kPad)};  // all padding: reads as invalid
  OverlayBankReader overlay(bank, rows);
  auto idx = torch::tensor(std::vector<int64_t>{7, 3, 7, 3, 5, 7}).view({2, 3});
  auto base = bank->fetch(idx);
  auto got = overlay.fetch(idx);
  // Row 0: entry 7 untouched, entry 3 emptied.
  EXPECT_TRUE(torch::equal(got.tokens[0][0], base.tokens[0][0]));
  EXPECT_FALSE(got.valid[0][1].item<bool>());
  EXPECT_TRUE(got.valid[0][0].item<bool>());
  // Row 1 = {3, 5, 7}: 7 overridden, 3 and 5 from the base bank.
  EXPECT_TRUE(torch::equal(got.tokens[1][2], torch::tensor(std::vector<int64_t>{9, 9, 9, 0})));
  EXPECT_TRUE(got.valid[1][2].item<bool>());
  EXPECT_TRUE(torch::equal(got.tokens[1][0], base.tokens[1][0]));
  EXPECT_TRUE(torch::equal(got.tokens[1][1], base.tokens[1][1]));
  EXPECT_TRUE(got.valid[1][0].item<bool>());
  // Row 0 = {7, 3, 7}: both 7s untouched.
  EXPECT_TRUE(torch::equal(got.tokens[0][2], base.tokens[0][2]));
  // The base bank is unchanged.
  EXPECT_TRUE(torch::equal(bank->fetch(idx).tokens, base.tokens));
  // Bad overrides are errors that name the entry.
  std::vector<std::map<int64_t, std::vector<int32_t>>> bad(1);
  bad[0][64] = {1, 2, 3, 4};
  EXPECT_CONTAINS(testing::error_of([&] { OverlayBankReader(bank, bad); }), "entry 64");
  bad[0].clear();
  bad[0][2] = {1, 2};
  EXPECT_CONTAINS(testing::error_of([&] { OverlayBankReader(bank, bad); }), "has 2 tokens");
}

TEST(BankOverlay, TwoRowsReadingOneEntryGetTheirOwnCandidateEmbeddings) {
  // Candidate embedding deduplicates entries across the batch for a plain bank; an overlay whose
  // rows disagree about an entry must not be merged.
  auto bank = small_bank();
  std::vector<std::map<int64_t, std::vector<int32_t>>> rows(2);
  rows[0][7] = {1, 2, 3, 4};
  rows[1][7] = {5, 6, 7, 8};
  OverlayBankReader overlay(bank, rows);
  auto table = torch::randn({128, 16});
  auto idx = torch::full({2, 1}, int64_t{7});
  auto got = memory::embed_candidates(overlay, idx, table);
  auto expect0 = table.index({torch::tensor(std::vector<int64_t>{1, 2, 3, 4})}).mean(0);
  auto expect1 = table.index({torch::tensor(std::vector<int64_t>{5, 6, 7, 8})}).mean(0);
  EXPECT_TRUE(torch::allclose(got.embeddings[0][0], expect0, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(got.embeddings[1][0], expect1, 1e-5, 1e-6));
  // The plain bank path gives both rows the same (base) entry.
  auto plain = memory::embed_candidates(*bank, idx, table);
  EXPECT_TRUE(torch::equal(plain.embeddings[0][0], plain.embeddings[1][0]));
}

// Runs `steps` AdamW steps on one batch; returns (first loss, last loss).
std::pair<double, double> train_steps(const std::function<StepLosses()>& step, const NamedTensors& params, int steps,
                                      double lr) {
  AdamWConfig c;
  c.lr = lr;
  c.weight_decay = 0;
  Optimizer opt(params, c);
  double first = 0, last = 0;
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    StepLosses l = step();
    l.total.backward();
    opt.step();
    if (s == 0) first = l.total.item<double>();
    last = l.total.item<double>();
  }
  return {first, last};
}

TEST(StepLosses, EveryMemoryStageReducesItsLossAndTrainsOnlyMemory) {
  for (Stage stage : {Stage::router, Stage::fusion, Stage::joint}) {
    auto backbone = small_backbone();
    const auto before = backbone->weights().embed_tokens.clone();
    memory::ExplicitLM lm(backbone, small_bank(), small_memory(), 7);
    lm.train();
    lm.set_selection_seed(1);
    Batch b = small_batch();
    LossWeights w;
    auto [first, last] = train_steps([&] { return memory_step_losses(lm, b, stage, w); },
                                     lm.named_trainable_parameters(), 30, 1e-2);
    EXPECT_LT(last, first - 0.05) << stage_name(stage);
    EXPECT_TRUE(torch::equal(backbone->weights().embed_tokens, before)) << stage_name(stage);
    auto l = memory_step_losses(lm, b, stage, w);
    EXPECT_FALSE(std::isnan(l.router));  // the batch names entries
    EXPECT_GE(l.router_recall, 0.0);
    if (stage == Stage::router) {
      EXPECT_TRUE(std::isnan(l.ce));
      EXPECT_EQ(l.alpha, 0.0);  // the router stage keeps the fusion out
    } else {
      EXPECT_EQ(l.loss_tokens, 3);
      EXPECT_GT(l.alpha, 0.0);
    }
    EXPECT_EQ(std::isnan(l.similarity), stage != Stage::joint);
  }
}

TEST(StepLosses, JointLossIsTheWeightedSumOfItsParts) {
  auto backbone = small_backbone();
  memory::ExplicitLM lm(backbone, small_bank(), small_memory(), 7);
  lm.eval();  // argmax selection: the same selection in every call
  Batch b = small_batch();
  LossWeights w;
  w.ce = 0.7;
  w.similarity = 0.3;
  w.diversity = 0.2;
  w.router = 0.5;
  auto l = memory_step_losses(lm, b, Stage::joint, w);
  EXPECT_NEAR(l.total.item<double>(), 0.7 * l.ce + 0.3 * l.similarity + 0.2 * l.diversity + 0.5 * l.router, 1e-5);
  auto router_only = memory_step_losses(lm, b, Stage::router, w);
  EXPECT_NEAR(router_only.total.item<double>(), l.router, 1e-5);
}

TEST(StepLosses, RouterStageWithoutTargetsIsAClearError) {
  auto backbone = small_backbone();
  memory::ExplicitLM lm(backbone, small_bank(), small_memory(), 7);
  Batch b = small_batch();
  b.target_indices = torch::Tensor();
  b.target_scores = torch::Tensor();
  EXPECT_CONTAINS(testing::error_of([&] { memory_step_losses(lm, b, Stage::router, LossWeights{}); }),
                  "needs router targets");
}

TEST(StepLosses, BackboneStageReducesItsLoss) {
  auto backbone = small_backbone();
  NamedTensors params;
  for (const auto& [name, t] : backbone->weights().named_tensors()) {
    t.set_requires_grad(true);
    params.emplace_back(name, t);
  }
  Batch b = small_batch();
  auto [first, last] = train_steps([&] { return backbone_step_losses(*backbone, b); }, params, 20, 1e-2);
  EXPECT_LT(last, 0.5 * first);
}

}  // namespace
}  // namespace elm::train
