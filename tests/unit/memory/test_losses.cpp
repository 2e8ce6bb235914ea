// Auxiliary losses against hand-computed values.
#include <cmath>

#include <gtest/gtest.h>

#include "core/error.h"
#include "memory/losses.h"
#include "memory_test_util.h"

namespace elm::memory {
namespace {

TEST(Losses, SimilarityIsMinusTheMaskedMean) {
  auto sim = torch::tensor({0.5, 0.1, 0.3, 0.9}, torch::kDouble).view({2, 2});
  auto mask = torch::tensor({true, false, true, true}).view({2, 2});
  EXPECT_NEAR(similarity_loss(sim, mask).item<double>(), -(0.5 + 0.3 + 0.9) / 3, 1e-12);
  EXPECT_NEAR(similarity_loss(sim).item<double>(), -(0.5 + 0.1 + 0.3 + 0.9) / 4, 1e-12);
}

TEST(Losses, DiversityIsTheMeanOffDiagonalCosine) {
  // (1,0), (0,1), (1,1): cosines 0, 1/sqrt2, 1/sqrt2 (each pair counted twice).
  auto cand = torch::tensor({1.0, 0.0, 0.0, 1.0, 1.0, 1.0}, torch::kDouble).view({1, 3, 2});
  EXPECT_NEAR(diversity_loss(cand).item<double>(), (2.0 / std::sqrt(2.0)) / 3.0, 1e-12);
  // Without the third candidate the only pair is orthogonal.
  auto valid = torch::tensor({true, true, false}).view({1, 3});
  EXPECT_NEAR(diversity_loss(cand, valid).item<double>(), 0.0, 1e-12);
  // A second token with identical candidates (cosine 1) is excluded by the token mask.
  auto two = torch::cat({cand, torch::ones({1, 3, 2}, torch::kDouble)}, 0);
  EXPECT_NEAR(diversity_loss(two, {}, torch::tensor({true, false})).item<double>(), (2.0 / std::sqrt(2.0)) / 3.0, 1e-12);
  EXPECT_NEAR(diversity_loss(two).item<double>(), ((2.0 / std::sqrt(2.0)) / 3.0 + 1.0) / 2.0, 1e-12);
}

TEST(Losses, RouterSoftLabelHandComputed) {
  // Grid n = 2. P1 = softmax([0, 0]) = [0.5, 0.5]; P2 = softmax([0, ln 3]) = [0.25, 0.75].
  auto l1 = torch::tensor({0.0, 0.0}, torch::kDouble).view({1, 2});
  auto l2 = torch::tensor({0.0, std::log(3.0)}, torch::kDouble).view({1, 2});
  // Targets 3 -> (1, 1) and 0 -> (0, 0), equal scores.
  auto t = torch::tensor({3, 0}, torch::kInt64).view({1, 2});
  auto s = torch::tensor({1.0, 1.0}, torch::kDouble).view({1, 2});
  const double expected = -(0.5 * (std::log(0.5) + std::log(0.75)) + 0.5 * (std::log(0.5) + std::log(0.25)));
  EXPECT_NEAR(router_soft_label_loss(l1, l2, t, s).item<double>(), expected, 1e-12);
  // Entry 1 is cell (0, 1), entry 2 is cell (1, 0): they differ when the halves differ.
  auto l1b = torch::tensor({std::log(4.0), 0.0}, torch::kDouble).view({1, 2});  // P1 = [0.8, 0.2]
  auto one = torch::tensor({1}, torch::kInt64).view({1, 1});
  auto two = torch::tensor({2}, torch::kInt64).view({1, 1});
  auto w = torch::ones({1, 1}, torch::kDouble);
  EXPECT_NEAR(router_soft_label_loss(l1b, l2, one, w).item<double>(), -(std::log(0.8) + std::log(0.75)), 1e-12);
  EXPECT_NEAR(router_soft_label_loss(l1b, l2, two, w).item<double>(), -(std::log(0.2) + std::log(0.25)), 1e-12);
  // Temperature: scores [ln 3, 0] at T = 1 weight the targets 3/4 and 1/4; at T -> large, 1/2 each.
  auto sc = torch::tensor({std::log(3.0), 0.0}, torch::kDouble).view({1, 2});
  const double a = -(std::log(0.5) + std::log(0.75)), b = -(std::log(0.5) + std::log(0.25));
  EXPECT_NEAR(router_soft_label_loss(l1, l2, t, sc, 1.0).item<double>(), 0.75 * a + 0.25 * b, 1e-12);
  EXPECT_NEAR(router_soft_label_loss(l1, l2, t, sc, 1e9).item<double>(), 0.5 * a + 0.5 * b, 1e-8);
  // A negative target is ignored; a query without targets does not count.
  auto t_ign = torch::tensor({3, -1, -1, -1}, torch::kInt64).view({2, 2});
  auto l1x = l1.expand({2, 2}).contiguous(), l2x = l2.expand({2, 2}).contiguous();
  EXPECT_NEAR(router_soft_label_loss(l1x, l2x, t_ign, torch::ones({2, 2}, torch::kDouble)).item<double>(), a, 1e-12);
  // Out-of-grid target: error.
  EXPECT_THROW(router_soft_label_loss(l1, l2, torch::tensor({4}, torch::kInt64).view({1, 1}), w), Error);
}

TEST(Losses, RouterSoftLabelGradient) {
  auto l1 = torch::randn({3, 4}, torch::kDouble).requires_grad_(true);
  auto l2 = torch::randn({3, 4}, torch::kDouble).requires_grad_(true);
  auto t = torch::tensor({0, 5, 15, 7, 7, 2, 9, -1, 12}, torch::kInt64).view({3, 3});
  auto s = torch::randn({3, 3}, torch::kDouble);
  auto loss = [&] { return router_soft_label_loss(l1, l2, t, s, 0.5); };
  EXPECT_LT(testing::gradcheck_error(loss, {l1, l2}, 1e-6), 1e-8);
}

TEST(Losses, MeanOverLayers) {
  EXPECT_NEAR(mean_over_layers({torch::tensor(1.0), torch::tensor(2.0), torch::tensor(6.0)}).item<double>(), 3.0, 1e-12);
  EXPECT_EQ(mean_over_layers({}).item<double>(), 0.0);
}

}  // namespace
}  // namespace elm::memory
