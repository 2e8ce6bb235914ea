// GatedMemoryFusion: a hand-computed case, the alpha clamp, forced alpha = 0, the LoRA variant
// (leaves h unchanged at init; alpha = clamp(similarity)), parameter names, gradient check.
#include <cmath>

#include <gtest/gtest.h>

#include "memory/fusion.h"
#include "memory_test_util.h"

namespace elm::memory {
namespace {

std::vector<std::string> names_of(const torch::nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& p : m.named_parameters()) out.push_back(p.key());
  return out;
}

TEST(GatedMemoryFusion, HandComputedSingleDimension) {
  FusionOptions o;
  o.hidden_size = 1;
  o.alpha_hidden = 1;
  GatedMemoryFusion f(o, make_generator(0));
  f->eval();
  {
    torch::NoGradGuard g;
    f->gate_proj->weight.copy_(torch::tensor({0.5f, 0.25f}).view({1, 2}));
    f->up_proj->weight.copy_(torch::tensor({1.f, 1.f}).view({1, 2}));
    f->down_proj->weight.fill_(2.f);
    f->alpha_fc1->weight.fill_(1.f);
    f->alpha_fc1->bias.fill_(0.f);
    f->alpha_fc2->weight.fill_(1.f);
    f->alpha_fc2->bias.fill_(0.f);
    f->alpha_bias.fill_(0.1f);
  }
  auto h = torch::tensor({0.3f}).view({1, 1});
  auto h_mem = torch::tensor({1.f}).view({1, 1});
  auto sel = torch::tensor({2.f}).view({1, 1});
  auto sim = torch::tensor({0.5f});
  // gate = 0.5 + 0.5 = 1, up = 3, silu(1) = 1 / (1 + e^-1); fusion = 2 * silu(1) * 3.
  const double fusion = 2.0 * 3.0 / (1.0 + std::exp(-1.0));
  // alpha = sigmoid(gelu(0.5)) + 0.1, gelu(x) = x/2 (1 + erf(x / sqrt 2)).
  const double gelu = 0.25 * (1.0 + std::erf(0.5 / std::sqrt(2.0)));
  const double alpha = 1.0 / (1.0 + std::exp(-gelu)) + 0.1;
  auto out = f->forward(h, h_mem, sel, sim);
  EXPECT_NEAR(out.fusion_out.item<double>(), fusion, 1e-5);
  EXPECT_NEAR(out.alpha.item<double>(), alpha, 1e-6);
  EXPECT_NEAR(out.hidden.item<double>(), 0.3 + alpha * fusion, 1e-5);
}

TEST(GatedMemoryFusion, AlphaIsClampedToTheUnitInterval) {
  FusionOptions o;
  o.hidden_size = 4;
  GatedMemoryFusion f(o, make_generator(1));
  auto h = torch::randn({2, 3, 4}), h_mem = torch::randn({2, 3, 4}), sel = torch::randn({2, 3, 4});
  auto sim = torch::rand({2, 3});
  {
    torch::NoGradGuard g;
    f->alpha_bias.fill_(2.f);
  }
  auto high = f->forward(h, h_mem, sel, sim);
  EXPECT_TRUE(torch::equal(high.alpha, torch::ones({2, 3})));
  EXPECT_TRUE(torch::allclose(high.hidden, h + high.fusion_out));
  {
    torch::NoGradGuard g;
    f->alpha_bias.fill_(-2.f);
  }
  auto low = f->forward(h, h_mem, sel, sim);
  EXPECT_TRUE(torch::equal(low.alpha, torch::zeros({2, 3})));
  EXPECT_TRUE(torch::equal(low.hidden, h));
  {
    torch::NoGradGuard g;
    f->alpha_bias.fill_(0.f);
  }
  auto mid = f->forward(h, h_mem, sel, sim);
  EXPECT_TRUE((mid.alpha > 0).all().item<bool>() && (mid.alpha < 1).all().item<bool>());
  EXPECT_FALSE(torch::equal(mid.hidden, h));
}

TEST(GatedMemoryFusion, ForcedZeroAlphaReturnsHExactly) {
  FusionOptions o;
  o.hidden_size = 8;
  GatedMemoryFusion f(o, make_generator(2));
  auto h = torch::randn({2, 5, 8}), h_mem = torch::randn({2, 5, 8}), sel = torch::randn({2, 5, 8});
  auto out = f->forward(h, h_mem, sel, torch::rand({2, 5}), /*force_zero_alpha=*/true);
  EXPECT_TRUE(torch::equal(out.hidden, h));
  EXPECT_TRUE(torch::equal(out.alpha, torch::zeros({2, 5})));
  // bf16 hidden state: still exact.
  auto hb = h.to(torch::kBFloat16);
  EXPECT_TRUE(torch::equal(f->forward(hb, h_mem, sel, torch::rand({2, 5}), true).hidden, hb));
}

TEST(GatedMemoryFusion, LoraLeavesHUnchangedAtInitAndUsesSimilarityAsAlpha) {
  FusionOptions o;
  o.hidden_size = 6;
  o.rank = 2;
  GatedMemoryFusion f(o, make_generator(3));
  EXPECT_EQ(names_of(*f), (std::vector<std::string>{"gate_proj.A", "gate_proj.B", "up_proj.A", "up_proj.B",
                                                    "down_proj.A", "down_proj.B"}));
  EXPECT_TRUE(torch::equal(f->down_proj->B, torch::zeros({6, 2})));
  EXPECT_FALSE(torch::equal(f->gate_proj->B, torch::zeros({6, 2})));  // so gradients reach every projection
  auto h = torch::randn({1, 3, 6}), h_mem = torch::randn({1, 3, 6}), sel = torch::randn({1, 3, 6});
  auto sim = torch::tensor({-0.5f, 0.3f, 1.7f}).view({1, 3});
  auto out = f->forward(h, h_mem, sel, sim);
  EXPECT_TRUE(torch::equal(out.hidden, h));  // B = 0 in down_proj: fusion_out is exactly zero
  EXPECT_TRUE(torch::equal(out.fusion_out, torch::zeros({1, 3, 6})));
  EXPECT_TRUE(torch::allclose(out.alpha, torch::tensor({0.f, 0.3f, 1.f}).view({1, 3})));
  // The gradient on down_proj.B is nonzero at init (gate/up start random), so the fusion can learn.
  auto loss = (f->forward(h, h_mem, sel, sim).hidden * torch::randn({1, 3, 6})).sum();
  loss.backward();
  EXPECT_GT(f->down_proj->B.grad().abs().sum().item<double>(), 0.0);
}

TEST(GatedMemoryFusion, FullParameterNames) {
  FusionOptions o;
  o.hidden_size = 4;
  GatedMemoryFusion f(o, make_generator(0));
  EXPECT_EQ(names_of(*f), (std::vector<std::string>{"alpha_bias", "gate_proj.weight", "up_proj.weight",
                                                    "down_proj.weight", "alpha_fc1.weight", "alpha_fc1.bias",
                                                    "alpha_fc2.weight", "alpha_fc2.bias"}));
  EXPECT_EQ(f->gate_proj->weight.sizes(), (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(f->down_proj->weight.sizes(), (std::vector<int64_t>{4, 4}));
}

TEST(GatedMemoryFusion, FiniteDifferenceGradients) {
  for (int64_t rank : {0, 2}) {
    FusionOptions o;
    o.hidden_size = 4;
    o.rank = rank;
    GatedMemoryFusion f(o, make_generator(4));
    f->to(torch::kDouble);
    f->eval();
    if (rank > 0) {
      torch::NoGradGuard g;
      f->down_proj->B.normal_();
    }
    auto h = torch::randn({2, 3, 4}, torch::kDouble).requires_grad_(true);
    auto h_mem = torch::randn({2, 3, 4}, torch::kDouble).requires_grad_(true);
    auto sel = torch::randn({2, 3, 4}, torch::kDouble).requires_grad_(true);
    auto sim = (torch::rand({2, 3}, torch::kDouble) * 0.8 + 0.1).requires_grad_(true);  // inside (0, 1): no clamp kink
    auto probe = testing::probe_weights({2, 3, 4}, 6);
    auto loss = [&] { return (f->forward(h, h_mem, sel, sim).hidden * probe).sum(); };
    std::vector<torch::Tensor> inputs = {h, h_mem, sel, sim};
    for (const auto& p : f->parameters()) inputs.push_back(p);
    EXPECT_LT(testing::gradcheck_error(loss, inputs, 1e-6), 1e-7) << "rank " << rank;
    EXPECT_GT(sim.grad().abs().sum().item<double>(), 0.0) << "rank " << rank;
  }
}

}  // namespace
}  // namespace elm::memory
