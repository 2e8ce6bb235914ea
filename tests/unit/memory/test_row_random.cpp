// Per-row training noise (row_random.h): a row's draws do not depend on the other rows, its
// position in the batch or the padding, and ExplicitLM with row_seeds gives the same hidden
// states, selections and summed gradients whether 4 rows go in one batch or in two batches of 2
// (what data-parallel training needs to equal one process).
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "memory/explicit_lm.h"
#include "memory/fusion.h"
#include "memory/router.h"
#include "memory/row_random.h"
#include "support/small_explicit_lm.h"

namespace elm::memory {
namespace {

using elm::testing::kPad;
using elm::testing::small_backbone;
using elm::testing::small_bank;
using elm::testing::small_memory;

// valid [B, T] from per-row lengths; left = true pads on the left.
torch::Tensor lengths_mask(const std::vector<int64_t>& lengths, int64_t T, bool left = false) {
  auto mask = torch::zeros({static_cast<int64_t>(lengths.size()), T}, torch::kBool);
  for (size_t b = 0; b < lengths.size(); ++b) {
    const int64_t n = lengths[b];
    mask[static_cast<int64_t>(b)].narrow(0, left ? T - n : 0, n).fill_(true);
  }
  return mask;
}

// Row b's values at its valid positions: [n_valid, ...].
torch::Tensor row_values(const torch::Tensor& t, const torch::Tensor& valid, int64_t b) {
  return t[b].index({valid[b].to(t.device())});
}

double max_abs(const torch::Tensor& t) { return t.numel() ? t.abs().max().item<double>() : 0.0; }

TEST(RowRandom, ARowsNoiseIgnoresTheRestOfTheBatchItsPositionAndThePadding) {
  const uint64_t stream = row_stream::kGumbel;
  // Seed 22 with 3 tokens: alone, second of three (right padding to 6), first of two (left padding to 8).
  RowRandom alone({22}, lengths_mask({3}, 3));
  RowRandom three({11, 22, 33}, lengths_mask({5, 3, 4}, 6));
  auto left_mask = lengths_mask({3, 8}, 8, /*left=*/true);
  RowRandom two({22, 11}, left_mask);
  auto u_alone = alone.uniform(stream, {1, 3, 5}, torch::kFloat32, torch::kCPU);
  auto u_three = three.uniform(stream, {3, 6, 5}, torch::kFloat32, torch::kCPU);
  auto u_two = two.uniform(stream, {2, 8, 5}, torch::kFloat32, torch::kCPU);
  EXPECT_TRUE(torch::equal(u_alone[0], row_values(u_three, three.token_valid(), 1)));
  EXPECT_TRUE(torch::equal(u_alone[0], row_values(u_two, left_mask, 0)));
  // Another seed draws other values.
  EXPECT_FALSE(torch::equal(row_values(u_three, three.token_valid(), 0).narrow(0, 0, 3), u_alone[0]));
  // Padding holds zeros; valid positions hold U[0, 1).
  EXPECT_EQ(max_abs(u_three.index({three.token_valid().logical_not()})), 0.0);
  auto valid_values = u_three.index({three.token_valid()});
  EXPECT_GE(valid_values.min().item<double>(), 0.0);
  EXPECT_LT(valid_values.max().item<double>(), 1.0);
  EXPECT_GT(valid_values.std().item<double>(), 0.2);
  // Other streams and other scopes draw differently; the same stream again draws the same.
  EXPECT_FALSE(torch::equal(u_alone, alone.uniform(row_stream::kFusionDropout, {1, 3, 5}, torch::kFloat32, torch::kCPU)));
  EXPECT_FALSE(torch::equal(alone.scoped(0).uniform(stream, {1, 3, 5}, torch::kFloat32, torch::kCPU),
                            alone.scoped(1).uniform(stream, {1, 3, 5}, torch::kFloat32, torch::kCPU)));
  EXPECT_TRUE(torch::equal(u_alone, alone.uniform(stream, {1, 3, 5}, torch::kFloat32, torch::kCPU)));
  EXPECT_NE(row_stream::router_dropout(0), row_stream::router_dropout(1));
  EXPECT_NE(mix_seed(1, 2), mix_seed(2, 1));
}

TEST(RowRandom, GumbelAndDropoutFollowTheUniforms) {
  auto valid = lengths_mask({4, 2}, 5);
  RowRandom rr({7, 8}, valid);
  auto u = rr.uniform(3, {2, 5, 6}, torch::kDouble, torch::kCPU);
  auto g = rr.gumbel(3, {2, 5, 6}, torch::kDouble, torch::kCPU);
  EXPECT_TRUE(torch::isfinite(g).all().item<bool>());  // also at padding, where U = 0
  EXPECT_TRUE(torch::allclose(row_values(g, valid, 0), -torch::log(-torch::log(row_values(u, valid, 0)))));

  auto x = torch::randn({2, 5, 6}, torch::kDouble);
  EXPECT_TRUE(rr.dropout(x, 0.0, true, 3).is_same(x));
  EXPECT_TRUE(rr.dropout(x, 0.5, false, 3).is_same(x));
  auto y = rr.dropout(x, 0.25, true, 3);
  auto expected = x * u.ge(0.25).to(torch::kDouble) / 0.75;
  EXPECT_TRUE(torch::equal(y, expected));
  EXPECT_EQ(max_abs(y.index({valid.logical_not()})), 0.0);
  EXPECT_THROW(rr.dropout(x, 1.5, true, 3), Error);
}

TEST(RowRandom, OnePositionPerRowIsIndependentOfTheLength) {
  RowRandom a({5, 6}, lengths_mask({2, 7}, 7));
  RowRandom b({6}, lengths_mask({0}, 3));  // even a row without real tokens draws its one position
  auto ua = a.one_position_per_row().uniform(9, {2, 1, 4}, torch::kFloat32, torch::kCPU);
  auto ub = b.one_position_per_row().uniform(9, {1, 1, 4}, torch::kFloat32, torch::kCPU);
  EXPECT_TRUE(torch::equal(ua[1], ub[0]));
  EXPECT_GT(max_abs(ub), 0.0);
}

TEST(RowRandom, ShapeAndSizeErrorsNameTheNumbers) {
  try {
    RowRandom({1, 2, 3}, lengths_mask({1, 1}, 2));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("3 row seeds for a batch of 2"), std::string::npos) << e.what();
  }
  RowRandom rr({1, 2}, lengths_mask({1, 1}, 2));
  EXPECT_THROW(rr.uniform(0, {2, 3, 4}, torch::kFloat32, torch::kCPU), Error);
}

// The router's dropout and the fusion's with RowRandom: a row alone equals the row in a batch.
TEST(RowRandom, RouterAndFusionDropoutArePerRow) {
  RouterOptions ro;
  ro.hidden_size = 8;
  ro.knowledge_num = 16;
  ro.knowledge_dim = 4;
  ro.num_candidates = 3;
  ro.num_candidates_internal = 2;
  ro.dropout = 0.3;
  MemoryGate router(ro, make_generator(1));
  FusionOptions fo;
  fo.hidden_size = 8;
  fo.dropout = 0.3;
  GatedMemoryFusion fusion(fo, make_generator(2));
  router->train();
  fusion->train();
  auto x = torch::randn({3, 5, 8}, make_generator(3));
  auto valid = lengths_mask({5, 2, 4}, 5);
  RowRandom batch({40, 41, 42}, valid);
  RowRandom alone({41}, lengths_mask({2}, 2));
  auto x1 = x[1].narrow(0, 0, 2).unsqueeze(0);
  auto q_batch = router->query(x, &batch);
  auto q_alone = router->query(x1, &alone);
  EXPECT_TRUE(torch::allclose(row_values(q_batch, valid, 1), q_alone[0], 1e-6, 1e-6));
  auto f_batch = fusion->fuse(x, x, &batch);
  auto f_alone = fusion->fuse(x1, x1, &alone);
  EXPECT_TRUE(torch::allclose(row_values(f_batch, valid, 1), f_alone[0], 1e-6, 1e-6));
  // Dropout did drop (evaluation differs), the old signatures still work, and evaluation draws
  // nothing either way.
  EXPECT_EQ(router->query(x).sizes(), q_batch.sizes());
  fusion->eval();
  EXPECT_FALSE(torch::allclose(f_alone, fusion->fuse(x1, x1, &alone)));
  EXPECT_TRUE(torch::equal(fusion->fuse(x1, x1), fusion->fuse(x1, x1, &alone)));
  router->eval();
  EXPECT_TRUE(torch::equal(router->query(x), router->query(x, &batch)));
}

// ----- ExplicitLM: 4 rows in one batch == the same rows as two batches of 2 -----

struct Rows {
  std::vector<std::vector<int64_t>> ids;
  std::vector<uint64_t> seeds;
};

Rows four_rows() {
  Rows r;
  auto gen = make_generator(21);
  for (int64_t len : {7, 4, 6, 3}) {
    auto t = torch::randint(1, 256, {len}, gen, torch::kInt64);
    r.ids.emplace_back(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + len);
  }
  r.seeds = {1001, 2002, 3003, 4004};
  return r;
}

struct Batch {
  torch::Tensor ids, mask, valid;
  std::vector<uint64_t> seeds;
  std::vector<size_t> rows;  // indices into Rows
};

// Right-padded to the longest of `rows`.
Batch make_batch(const Rows& r, const std::vector<size_t>& rows) {
  int64_t T = 0;
  for (size_t i : rows) T = std::max<int64_t>(T, static_cast<int64_t>(r.ids[i].size()));
  Batch b;
  b.rows = rows;
  b.ids = torch::full({static_cast<int64_t>(rows.size()), T}, kPad, torch::kInt64);
  std::vector<int64_t> lengths;
  for (size_t k = 0; k < rows.size(); ++k) {
    const auto& row = r.ids[rows[k]];
    b.ids[static_cast<int64_t>(k)].narrow(0, 0, static_cast<int64_t>(row.size())).copy_(torch::tensor(row, torch::kInt64));
    lengths.push_back(static_cast<int64_t>(row.size()));
    b.seeds.push_back(r.seeds[rows[k]]);
  }
  b.valid = lengths_mask(lengths, T);
  b.mask = b.valid.to(torch::kInt64);
  return b;
}

// A per-row loss: a fixed probe of the row's logits at its valid positions (drawn from the row's
// seed with a shape [n_valid, V], so it follows the row) plus its selected cosines.
torch::Tensor per_row_loss(const ExplicitLMOutput& out, const Batch& b) {
  torch::Tensor total = torch::zeros({}, out.logits.options());
  for (size_t k = 0; k < b.rows.size(); ++k) {
    const auto bk = static_cast<int64_t>(k);
    auto logits = row_values(out.logits, b.valid, bk);
    auto probe = torch::randn(logits.sizes(), make_generator(b.seeds[k] + 7)).to(logits.scalar_type());
    total = total + (logits * probe).sum();
    for (const auto& l : out.layers) total = total + 0.1 * row_values(l.similarity, b.valid, bk).sum();
  }
  return total;
}

struct Result {
  std::vector<torch::Tensor> hidden;                 // per row: [n_valid, H]
  std::vector<std::vector<torch::Tensor>> selected;  // per row, per layer: [n_valid, k]
  std::vector<torch::Tensor> grads;                  // per trainable parameter (summed over batches)
};

Result run(ExplicitLM& lm, const Rows& r, const std::vector<std::vector<size_t>>& batches, bool with_seeds) {
  Result res;
  res.hidden.resize(r.ids.size());
  res.selected.resize(r.ids.size());
  auto params = lm.trainable_parameters();
  for (auto& p : params) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
  lm.set_selection_seed(5);
  for (const auto& rows : batches) {
    Batch b = make_batch(r, rows);
    ExplicitForwardOptions o;
    o.attention_mask = b.mask;
    if (with_seeds) o.row_seeds = b.seeds;
    auto out = lm.forward(b.ids, o);
    per_row_loss(out, b).backward();
    for (size_t k = 0; k < rows.size(); ++k) {
      const auto bk = static_cast<int64_t>(k);
      res.hidden[rows[k]] = row_values(out.hidden, b.valid, bk).detach();
      for (const auto& l : out.layers) res.selected[rows[k]].push_back(row_values(l.selected_indices, b.valid, bk));
    }
  }
  for (auto& p : params) res.grads.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
  return res;
}

// |a - b| / |a| (Frobenius norms; elements near zero do not make it explode).
double rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).norm().item<double>() / std::max(a.norm().item<double>(), 1e-30);
}

// max |a - b| over all trainable parameters' gradients, relative to the largest gradient.
double grads_rel_diff(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double diff = 0, scale = 1e-30;
  for (size_t p = 0; p < a.size(); ++p) {
    diff = std::max(diff, max_abs(a[p] - b[p]));
    scale = std::max(scale, max_abs(a[p]));
  }
  return diff / scale;
}

struct PartitionCase {
  QueryPooling pooling;
  torch::ScalarType dtype;
};

class RowSeedsPartition : public ::testing::TestWithParam<PartitionCase> {};

TEST_P(RowSeedsPartition, FourRowsInOneBatchEqualTwoBatchesOfTwo) {
  const auto [pooling, dtype] = GetParam();
  const bool f64 = dtype == torch::kDouble;
  auto backbone = f64 ? std::make_shared<const model::Qwen3Model>(
                            elm::testing::small_config(), model::random_qwen3_weights(elm::testing::small_config(), 3),
                            torch::kDouble)
                      : small_backbone();
  auto mc = small_memory(pooling);
  mc.dropout = 0.1;
  mc.selection = SelectionMode::kLearned;
  mc.selection_add_router_score = true;  // the router trains through the selection
  ExplicitLM lm(backbone, small_bank(), mc, 3);
  lm.module().to(dtype);
  {
    // Non-trivial pool weights (weighted_prefix starts near causal_prefix).
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : lm.named_trainable_parameters()) {
      if (name.find(".pool_score.") != std::string::npos) t.copy_(torch::randn(t.sizes(), make_generator(17)));
    }
  }
  lm.train();
  const Rows r = four_rows();
  // Two batches: other rows, other order, other padded lengths (4 and 7 vs 7 in the full batch).
  const std::vector<std::vector<size_t>> whole = {{0, 1, 2, 3}}, split = {{3, 1}, {2, 0}};
  Result a = run(lm, r, whole, true);
  Result b = run(lm, r, split, true);
  // Both partitions compute the same values in another order (batched matmuls and gradient sums
  // over other shapes), which f32 rounds differently: about 5e-7 here, of which the frozen backbone
  // alone gives 3e-7. In f64 the hidden states are identical, so only rounding is left.
  const double hidden_tol = f64 ? 1e-12 : 1e-6, grad_tol = f64 ? 1e-12 : 1e-5;
  for (size_t i = 0; i < r.ids.size(); ++i) {
    EXPECT_LE(rel_diff(a.hidden[i], b.hidden[i]), hidden_tol) << "row " << i;
    ASSERT_EQ(a.selected[i].size(), 3u);
    for (size_t l = 0; l < a.selected[i].size(); ++l) {
      EXPECT_TRUE(torch::equal(a.selected[i][l], b.selected[i][l])) << "row " << i << " layer " << l;
    }
  }
  // Relative to the largest gradient: a tensor whose gradient cancels to (almost) zero keeps only
  // rounding noise, which no per-tensor relative bound can hold.
  EXPECT_LE(grads_rel_diff(a.grads, b.grads), grad_tol);
  int with_grad = 0;
  for (const auto& g : a.grads) with_grad += max_abs(g) > 0 ? 1 : 0;
  EXPECT_GT(with_grad, static_cast<int>(a.grads.size()) / 2);

  // The noise is real: other seeds change the result, and without row_seeds the two partitions
  // draw differently (the shared generator and torch::dropout see [B, T, ...] tensors).
  Rows other = r;
  other.seeds = {9, 8, 7, 6};
  Result c = run(lm, other, whole, true);
  double moved = 0;
  for (size_t i = 0; i < r.ids.size(); ++i) moved = std::max(moved, rel_diff(a.hidden[i], c.hidden[i]));
  EXPECT_GT(moved, 1e-4);
  Result d = run(lm, r, whole, false), e = run(lm, r, split, false);
  double unseeded = 0;
  for (size_t i = 0; i < r.ids.size(); ++i) unseeded = std::max(unseeded, rel_diff(d.hidden[i], e.hidden[i]));
  EXPECT_GT(unseeded, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(ExplicitLM, RowSeedsPartition,
                         ::testing::Values(PartitionCase{QueryPooling::kWeightedPrefix, torch::kFloat32},
                                           PartitionCase{QueryPooling::kSequenceMean, torch::kFloat32},
                                           PartitionCase{QueryPooling::kWeightedPrefix, torch::kDouble},
                                           PartitionCase{QueryPooling::kSequenceMean, torch::kDouble}),
                         [](const auto& info) {
                           return std::string(pooling_name(info.param.pooling)) +
                                  (info.param.dtype == torch::kDouble ? "_f64" : "_f32");
                         });

TEST(RowSeeds, EvaluationIgnoresThemAndAWrongCountIsAnError) {
  torch::NoGradGuard no_grad;
  auto mc = small_memory();
  mc.dropout = 0.1;
  ExplicitLM lm(small_backbone(), small_bank(), mc, 3);
  const Rows r = four_rows();
  Batch b = make_batch(r, {0, 1, 2, 3});
  ExplicitForwardOptions o;
  o.attention_mask = b.mask;
  lm.eval();
  auto plain = lm.forward(b.ids, o);
  o.row_seeds = b.seeds;
  EXPECT_TRUE(torch::equal(plain.logits, lm.forward(b.ids, o).logits));  // no randomness in evaluation
  o.row_seeds = {1, 2, 3};
  for (bool training : {false, true}) {
    lm.train(training);
    try {
      lm.forward(b.ids, o);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("3 row seeds for a batch of 4"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace elm::memory
