// The layer functions against direct, hand-written computations.
#include <cmath>

#include <gtest/gtest.h>

#include "model/qwen3_layers.h"

namespace elm::model {
namespace {

TEST(RmsNorm, MatchesHandComputation) {
  auto x = torch::tensor({1.0f, -2.0f, 3.0f, 0.5f}).view({1, 4});
  auto w = torch::tensor({1.0f, 2.0f, 0.5f, -1.0f});
  const double ms = (1 + 4 + 9 + 0.25) / 4.0;
  const double inv = 1.0 / std::sqrt(ms + 1e-6);
  auto y = rms_norm(x, w, 1e-6);
  const float expected[] = {float(1 * inv * 1), float(-2 * inv * 2), float(3 * inv * 0.5), float(0.5 * inv * -1)};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[0][i].item<float>(), expected[i], 1e-6);
}

TEST(RmsNorm, Bf16InputComputesInF32AndReturnsBf16) {
  auto x = torch::randn({3, 8}).to(torch::kBFloat16);
  auto w = torch::ones({8}, torch::kBFloat16);
  auto y = rms_norm(x, w, 1e-6);
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  auto ref = rms_norm(x.to(torch::kFloat32), torch::ones({8}), 1e-6);
  EXPECT_LT((y.to(torch::kFloat32) - ref).abs().max().item<double>(), 2e-2);
}

TEST(Rope, InverseFrequenciesFollowTheta) {
  auto f = rope_inverse_frequencies(8, 10000.0);
  ASSERT_EQ(f.size(0), 4);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(f[i].item<float>(), std::pow(10000.0, -2.0 * i / 8), 1e-7);
}

TEST(Rope, RotatesPairsIAndIPlusHalf) {
  // One head, hd = 4: pairs (0, 2) and (1, 3) rotate by pos * inv_freq[0] and pos * inv_freq[1].
  auto inv = rope_inverse_frequencies(4, 100.0);
  auto positions = torch::tensor({3}, torch::kInt64).view({1, 1});
  auto [cos, sin] = rope_tables(positions, inv);
  auto x = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).view({1, 1, 1, 4});
  auto y = apply_rope(x, cos, sin);
  const double a0 = 3 * 1.0, a1 = 3 * std::pow(100.0, -0.5);
  EXPECT_NEAR(y[0][0][0][0].item<float>(), 1 * std::cos(a0) - 3 * std::sin(a0), 1e-5);
  EXPECT_NEAR(y[0][0][0][2].item<float>(), 3 * std::cos(a0) + 1 * std::sin(a0), 1e-5);
  EXPECT_NEAR(y[0][0][0][1].item<float>(), 2 * std::cos(a1) - 4 * std::sin(a1), 1e-5);
  EXPECT_NEAR(y[0][0][0][3].item<float>(), 4 * std::cos(a1) + 2 * std::sin(a1), 1e-5);
}

TEST(Rope, DotProductDependsOnlyOnRelativePosition) {
  auto inv = rope_inverse_frequencies(16, 1e6);
  auto q = torch::randn({1, 1, 1, 16}), k = torch::randn({1, 1, 1, 16});
  auto rotated = [&](const torch::Tensor& x, int64_t pos) {
    auto [c, s] = rope_tables(torch::tensor({pos}, torch::kInt64).view({1, 1}), inv);
    return apply_rope(x, c, s);
  };
  const double d1 = (rotated(q, 7) * rotated(k, 3)).sum().item<double>();
  const double d2 = (rotated(q, 104) * rotated(k, 100)).sum().item<double>();
  const double d3 = (rotated(q, 8) * rotated(k, 3)).sum().item<double>();
  EXPECT_NEAR(d1, d2, 1e-4);
  EXPECT_GT(std::abs(d1 - d3), 1e-6);
}

TEST(GroupedQueryAttention, EqualsNaiveRepeatedKvHeads) {
  const int64_t B = 2, nh = 6, nkv = 2, T = 5, S = 7, hd = 8;
  auto q = torch::randn({B, nh, T, hd}), k = torch::randn({B, nkv, S, hd}), v = torch::randn({B, nkv, S, hd});
  auto visible = torch::rand({B, 1, T, S}) > 0.3;
  visible.index_put_({torch::indexing::Slice(), 0, torch::indexing::Slice(), 0}, true);
  auto mask = torch::zeros({B, 1, T, S}).masked_fill(visible.logical_not(), -1e30);
  auto out = grouped_query_attention(q, k, v, mask);
  // Naive: head h uses KV head h / (nh / nkv).
  auto k_rep = k.repeat_interleave(nh / nkv, 1), v_rep = v.repeat_interleave(nh / nkv, 1);
  auto scores = torch::matmul(q, k_rep.transpose(-1, -2)) / std::sqrt(double(hd)) + mask;
  auto naive = torch::matmul(torch::softmax(scores, -1), v_rep).transpose(1, 2).reshape({B, T, nh * hd});
  EXPECT_LT((out - naive).abs().max().item<double>(), 1e-5);
}

TEST(SwigluMlp, MatchesDefinition) {
  auto x = torch::randn({2, 4}), g = torch::randn({6, 4}), u = torch::randn({6, 4}), d = torch::randn({4, 6});
  auto gate = torch::matmul(x, g.t());
  auto expected = torch::matmul(gate * torch::sigmoid(gate) * torch::matmul(x, u.t()), d.t());
  EXPECT_LT((swiglu_mlp(x, g, u, d) - expected).abs().max().item<double>(), 1e-5);
}

}  // namespace
}  // namespace elm::model
