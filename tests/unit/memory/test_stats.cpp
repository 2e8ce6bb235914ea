// Retrieval statistics against hand-computed counts.
#include <cmath>

#include <gtest/gtest.h>

#include "core/error.h"
#include "memory/stats.h"

namespace elm::memory {
namespace {

TEST(RetrievalStats, CoverageDeadHotEntropyAndAlpha) {
  RetrievalStats stats({0, 3}, 8);
  // Batch 1, layer 0: tokens [2, 3], k = 1; the last token of row 1 is padding (not counted).
  auto sel = torch::tensor({1, 1, 4, 2, 1, 7}, torch::kInt64).view({2, 3, 1});
  auto alpha = torch::tensor({0.5, 0.5, 0.5, 0.25, 0.25, 1.0}).view({2, 3});
  auto valid = torch::tensor({true, true, true, true, true, false}).view({2, 3});
  stats.add(0, sel, alpha, valid);
  // Batch 2: one more selection of entry 4, and a token with nothing valid (-1).
  stats.add(0, torch::tensor({4, -1}, torch::kInt64).view({1, 2, 1}), torch::tensor({0.0, 0.0}).view({1, 2}));
  auto s = stats.summary(2);
  ASSERT_EQ(s.size(), 2u);
  const auto& l0 = s[0];
  EXPECT_EQ(l0.layer, 0);
  EXPECT_EQ(l0.tokens, 7);
  EXPECT_EQ(l0.selections, 6);  // counts: 1 -> 3, 4 -> 2, 2 -> 1
  EXPECT_DOUBLE_EQ(l0.coverage, 3.0 / 8.0);
  EXPECT_EQ(l0.dead_entries, 5);
  const double p1 = 3.0 / 6, p4 = 2.0 / 6, p2 = 1.0 / 6;
  const double entropy = -(p1 * std::log(p1) + p4 * std::log(p4) + p2 * std::log(p2));
  EXPECT_NEAR(l0.entropy, entropy, 1e-12);
  EXPECT_NEAR(l0.normalized_entropy, entropy / std::log(8.0), 1e-12);
  EXPECT_NEAR(l0.mean_alpha, (0.5 * 3 + 0.25 * 2 + 0.0 * 2) / 7.0, 1e-12);
  ASSERT_EQ(l0.hot_entries.size(), 2u);
  EXPECT_EQ(l0.hot_entries[0], (std::pair<int64_t, int64_t>{1, 3}));
  EXPECT_EQ(l0.hot_entries[1], (std::pair<int64_t, int64_t>{4, 2}));
  // Layer 3 saw nothing.
  EXPECT_EQ(s[1].selections, 0);
  EXPECT_EQ(s[1].dead_entries, 8);
  EXPECT_EQ(s[1].coverage, 0.0);
  EXPECT_NE(stats.to_jsonl().find("\"layer\": 3"), std::string::npos);
  stats.reset();
  EXPECT_EQ(stats.summary()[0].selections, 0);
  EXPECT_THROW(stats.add(1, sel, alpha), Error);
  EXPECT_THROW(stats.add(0, torch::tensor({8}, torch::kInt64).view({1, 1}), torch::zeros({1})), Error);
}

TEST(RetrievalStats, UniformSelectionHasFullEntropy) {
  RetrievalStats stats({0}, 4);
  stats.add(0, torch::tensor({0, 1, 2, 3}, torch::kInt64).view({4, 1}), torch::ones({4}));
  auto s = stats.summary()[0];
  EXPECT_NEAR(s.normalized_entropy, 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(s.coverage, 1.0);
  EXPECT_DOUBLE_EQ(s.mean_alpha, 1.0);
}

}  // namespace
}  // namespace elm::memory
