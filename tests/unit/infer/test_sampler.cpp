// Sampling rules: greedy, temperature, top-k, top-p, repetition penalty, determinism per seed.
#include <map>

#include <gtest/gtest.h>

#include "core/error.h"
#include "infer/sampler.h"

namespace elm::infer {
namespace {

torch::Tensor logits_of(std::vector<float> v) { return torch::tensor(v, torch::kFloat32); }

TEST(Sampler, GreedyPicksArgmax) {
  SamplingOptions o;
  o.greedy = true;
  Sampler s(o);
  EXPECT_EQ(s.next(logits_of({0.1f, 3.0f, -1.0f, 2.9f}), {}), 1);
}

TEST(Sampler, ZeroTemperatureIsGreedy) {
  SamplingOptions o;
  o.temperature = 0.0;
  Sampler s(o);
  EXPECT_EQ(s.next(logits_of({0.1f, 0.0f, 5.0f}), {}), 2);
}

TEST(Sampler, TopKOneAlwaysPicksTheBest) {
  SamplingOptions o;
  o.top_k = 1;
  o.temperature = 5.0;
  o.top_p = 1.0;
  Sampler s(o);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.next(logits_of({1.0f, 1.5f, 1.4f, 0.0f}), {}), 1);
}

TEST(Sampler, TopPKeepsSmallestSetReachingMass) {
  // probs ~ [0.6, 0.3, 0.1]: top_p 0.7 keeps {0, 1}, never 2.
  auto logits = torch::log(torch::tensor({0.6f, 0.3f, 0.1f}));
  auto p = filtered_probabilities(logits, 1.0, 0, 0.7);
  EXPECT_NEAR(p[0].item<float>(), 0.6 / 0.9, 1e-5);
  EXPECT_NEAR(p[1].item<float>(), 0.3 / 0.9, 1e-5);
  EXPECT_EQ(p[2].item<float>(), 0.0f);
  // A tiny top_p still keeps the most likely token.
  auto q = filtered_probabilities(logits, 1.0, 0, 0.01);
  EXPECT_NEAR(q[0].item<float>(), 1.0, 1e-6);
}

TEST(Sampler, TemperatureSharpensDistribution) {
  auto logits = logits_of({1.0f, 2.0f});
  auto hot = filtered_probabilities(logits, 2.0, 0, 1.0), cold = filtered_probabilities(logits, 0.5, 0, 1.0);
  EXPECT_GT(cold[1].item<float>(), hot[1].item<float>());
  EXPECT_NEAR(cold[1].item<float>(), 1.0 / (1.0 + std::exp(-2.0)), 1e-5);
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegative) {
  auto logits = logits_of({2.0f, -2.0f, 1.0f});
  apply_repetition_penalty(logits, {0, 1, 1}, 2.0);
  EXPECT_FLOAT_EQ(logits[0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(logits[1].item<float>(), -4.0f);
  EXPECT_FLOAT_EQ(logits[2].item<float>(), 1.0f);
}

TEST(Sampler, SameSeedSameSequenceAndFrequenciesFollowProbabilities) {
  SamplingOptions o;
  o.temperature = 1.0;
  o.top_k = 0;
  o.top_p = 1.0;
  o.seed = 123;
  auto logits = torch::log(torch::tensor({0.5f, 0.25f, 0.25f}));
  Sampler a(o), b(o);
  std::map<int64_t, int> counts;
  for (int i = 0; i < 4000; ++i) {
    const auto x = a.next(logits, {});
    EXPECT_EQ(x, b.next(logits, {}));
    counts[x]++;
  }
  EXPECT_NEAR(counts[0] / 4000.0, 0.5, 0.04);
  EXPECT_NEAR(counts[1] / 4000.0, 0.25, 0.04);
}

TEST(Sampler, InvalidOptionsAreErrors) {
  SamplingOptions o;
  o.top_p = 0.0;
  EXPECT_THROW(Sampler{o}, Error);
  o = {};
  o.temperature = -1;
  EXPECT_THROW(Sampler{o}, Error);
}

}  // namespace
}  // namespace elm::infer
