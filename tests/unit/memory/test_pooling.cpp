// The router query pooling (pooling.h): weighted_prefix against a direct computation, zero
// scores equal causal_prefix, chunked pooling with a PoolState equals one pass, padding and the
// scores of padded positions never matter, extreme scores stay finite, gradients reach the scores.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "memory/pooling.h"

namespace elm::memory {
namespace {

torch::Tensor random(std::vector<int64_t> shape, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  return torch::randn(shape, gen, torch::TensorOptions().dtype(torch::kFloat32));
}

// sum_{s<=t, valid} sigmoid(z_s) x_s / sum_{s<=t, valid} sigmoid(z_s), one position at a time, in double.
torch::Tensor direct(const torch::Tensor& x, const torch::Tensor& valid, const torch::Tensor& lw) {
  const int64_t B = x.size(0), T = x.size(1), d = x.size(2);
  auto out = torch::zeros({B, T, d}, torch::kDouble);
  auto xd = x.to(torch::kDouble);
  for (int64_t b = 0; b < B; ++b) {
    auto num = torch::zeros({d}, torch::kDouble);
    double den = 0;
    for (int64_t t = 0; t < T; ++t) {
      if (valid[b][t].item<bool>()) {
        const double w = 1.0 / (1.0 + std::exp(-lw[b][t].item<double>()));
        num += w * xd[b][t];
        den += w;
      }
      if (den > 0) out[b][t] = num / den;
    }
  }
  return out.to(torch::kFloat32);
}

TEST(Pooling, WeightedPrefixMatchesADirectComputation) {
  auto x = random({2, 7, 5}, 1);
  auto lw = random({2, 7}, 2) * 3;
  auto valid = torch::ones({2, 7}, torch::kBool);
  valid[1][0] = false;  // left padding
  valid[1][1] = false;
  auto got = pool_queries(x, valid, QueryPooling::kWeightedPrefix, nullptr, nullptr, lw);
  EXPECT_TRUE(torch::allclose(got, direct(x, valid, lw), 1e-5, 1e-6));
  // Positions before the first valid token get a zero query.
  EXPECT_EQ(got[1].narrow(0, 0, 2).abs().max().item<float>(), 0.0f);
  // The weights matter: the weighted query differs from the plain causal mean.
  auto plain = pool_queries(x, valid, QueryPooling::kCausalPrefix);
  EXPECT_GT((got - plain).abs().max().item<float>(), 1e-2);
}

TEST(Pooling, ZeroScoresAreTheCausalPrefixMean) {
  auto x = random({3, 6, 4}, 3);
  auto valid = torch::ones({3, 6}, torch::kBool);
  valid[2][0] = false;
  auto weighted = pool_queries(x, valid, QueryPooling::kWeightedPrefix, nullptr, nullptr, torch::zeros({3, 6}));
  EXPECT_TRUE(torch::equal(weighted, pool_queries(x, valid, QueryPooling::kCausalPrefix)));
}

TEST(Pooling, ChunksWithStateEqualOnePass) {
  auto x = random({2, 9, 6}, 4);
  auto lw = random({2, 9}, 5) * 4;
  auto valid = torch::ones({2, 9}, torch::kBool);
  valid[0][0] = false;
  const auto full = pool_queries(x, valid, QueryPooling::kWeightedPrefix, nullptr, nullptr, lw);
  PoolState state;
  std::vector<torch::Tensor> parts;
  const std::vector<std::pair<int64_t, int64_t>> chunks = {{0, 4}, {4, 5}, {5, 9}};
  for (const auto& [from, to] : chunks) {
    PoolState next;
    parts.push_back(pool_queries(x.narrow(1, from, to - from), valid.narrow(1, from, to - from),
                                 QueryPooling::kWeightedPrefix, &state, &next, lw.narrow(1, from, to - from)));
    state = next;
  }
  EXPECT_LT((torch::cat(parts, 1) - full).abs().max().item<float>(), 1e-6);
}

TEST(Pooling, PaddedPositionsAndExtremeScoresStayHarmless) {
  auto x = random({1, 5, 3}, 6);
  auto valid = torch::tensor({false, true, true, false, true}).view({1, 5});
  auto lw = torch::tensor({1e6f, 0.5f, -2.0f, 1e6f, 1.0f}).view({1, 5});
  auto got = pool_queries(x, valid, QueryPooling::kWeightedPrefix, nullptr, nullptr, lw);
  // A padded position's score (even a huge one) never enters a mean.
  auto lw2 = lw.clone();
  lw2[0][0] = -5.0f;
  lw2[0][3] = 7.0f;
  EXPECT_TRUE(torch::equal(got, pool_queries(x, valid, QueryPooling::kWeightedPrefix, nullptr, nullptr, lw2)));
  EXPECT_TRUE(torch::isfinite(got).all().item<bool>());
  // Scores far below the clamp still count (no 0/0), but next to a normal one they vanish.
  auto low = torch::full({1, 5}, -1e4f);
  auto q = pool_queries(x, torch::ones({1, 5}, torch::kBool), QueryPooling::kWeightedPrefix, nullptr, nullptr, low);
  EXPECT_TRUE(torch::isfinite(q).all().item<bool>());
  EXPECT_LT((q - pool_queries(x, {}, QueryPooling::kCausalPrefix)).abs().max().item<float>(), 1e-5);
  low[0][1] = 0.0f;
  q = pool_queries(x, torch::ones({1, 5}, torch::kBool), QueryPooling::kWeightedPrefix, nullptr, nullptr, low);
  EXPECT_LT((q[0][4] - x[0][1]).abs().max().item<float>(), 1e-5);
  // A weight never exceeds 1: one high score cannot drown the rest (at most half of two tokens).
  auto two = torch::tensor({1e4f, 0.0f}).view({1, 2});
  q = pool_queries(x.narrow(1, 0, 2), {}, QueryPooling::kWeightedPrefix, nullptr, nullptr, two);
  auto expect = (x[0][0] + 0.5 * x[0][1]) / 1.5;
  EXPECT_LT((q[0][1] - expect).abs().max().item<float>(), 1e-5);
}

TEST(Pooling, GradientsReachTheScores) {
  auto x = random({2, 4, 3}, 7);
  auto lw = torch::zeros({2, 4}, torch::TensorOptions().requires_grad(true));
  auto q = pool_queries(x, {}, QueryPooling::kWeightedPrefix, nullptr, nullptr, lw);
  (q * random({2, 4, 3}, 8)).sum().backward();
  ASSERT_TRUE(lw.grad().defined());
  EXPECT_GT(lw.grad().abs().sum().item<float>(), 0.0f);
}

TEST(Pooling, WeightedPrefixWithoutScoresIsAnError) {
  auto x = random({1, 3, 2}, 9);
  EXPECT_THROW(pool_queries(x, {}, QueryPooling::kWeightedPrefix), Error);
  EXPECT_THROW(pool_queries(x, {}, QueryPooling::kWeightedPrefix, nullptr, nullptr, torch::zeros({1, 2})), Error);
}

}  // namespace
}  // namespace elm::memory
