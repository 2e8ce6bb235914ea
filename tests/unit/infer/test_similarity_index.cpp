// The LSH similarity index: its exact cosine against torch, its search against the exact scan on a
// bank of template-sharing rows, and its upkeep when entries change.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "infer/similarity_index.h"
#include "memory/candidates.h"
#include "memory/projection.h"

namespace elm::infer {
namespace {

constexpr int64_t kPad = 0;
constexpr int64_t kVocab = 2000;
constexpr int64_t kLen = 12;
constexpr int64_t kDim = 64;

// Rows like "<name> <name> <name> lives in <city>, works as a <job> and likes <colour>": template
// tokens 1..5, three name pieces from [100, 2000), a city from [10, 40), a job from [60, 90) and a
// colour from [40, 60); a fifth of the rows end early (padding).
std::vector<int32_t> template_row(std::mt19937_64& rng) {
  auto pick = [&](int lo, int n) { return static_cast<int32_t>(lo + rng() % n); };
  std::vector<int32_t> r = {pick(100, 1900), pick(100, 1900), pick(100, 1900), 1, 2, pick(10, 30),
                            3, 4, pick(60, 30), 5, pick(40, 20), 6};
  if (rng() % 5 == 0) r[11] = kPad;
  return r;
}

struct Fixture {
  int64_t n;
  std::vector<int32_t> tokens;
  std::vector<uint8_t> valid_bytes;
  bool* valid() { return reinterpret_cast<bool*>(valid_bytes.data()); }
  torch::Tensor table;
  TokenEmbeddings emb;
  Fixture(int64_t n_, uint64_t seed) : n(n_) {
    std::mt19937_64 rng(seed);
    for (int64_t i = 0; i < n; ++i) {
      auto r = template_row(rng);
      tokens.insert(tokens.end(), r.begin(), r.end());
      valid_bytes.push_back(i % 17 != 3);  // some invalid entries
    }
    auto gen = memory::make_generator(seed);
    auto common = torch::randn({1, kDim}, gen);
    table = torch::randn({kVocab, kDim}, gen) / std::sqrt(static_cast<double>(kDim)) + common / common.norm();
    emb = TokenEmbeddings(table);
  }
  std::vector<int32_t> row(int64_t i) const {
    return std::vector<int32_t>(tokens.begin() + i * kLen, tokens.begin() + (i + 1) * kLen);
  }
};

TEST(SimilarityIndex, ExactCosineAgreesWithTorch) {
  Fixture f(300, 1);
  SimilarityIndex index(f.tokens.data(), f.valid(), f.n, kLen, kPad, 50, f.emb, LshOptions{});
  std::mt19937_64 rng(2);
  const auto q = index.sketch(template_row(rng));
  auto tok = torch::from_blob(f.tokens.data(), {f.n, kLen}, torch::kInt32).to(torch::kInt64);
  auto entries = memory::mean_token_embeddings(tok, torch::ones({f.n}, torch::kBool), kPad, f.table);
  auto qe = torch::from_blob(const_cast<float*>(q.embedding.data()), {1, kDim}, torch::kFloat32);
  auto cos = torch::cosine_similarity(entries.embeddings, qe.expand({f.n, -1}), 1);
  for (int64_t i : {50, 51, 120, 299}) {
    if (!f.valid()[i]) continue;
    EXPECT_NEAR(index.cosine(q, i), cos[i].item<double>(), 1e-5) << "entry " << i;
  }
  EXPECT_NEAR(q.norm, qe.norm().item<float>(), 1e-5);
  // The exact scan picks torch's argmax among the indexed (valid, writable) entries.
  auto masked = cos.clone();
  for (int64_t i = 0; i < f.n; ++i) {
    if (i < 50 || !f.valid()[i]) masked[i] = -2.0;
  }
  const auto m = index.nearest_exact(q);
  EXPECT_EQ(m.index, masked.argmax().item<int64_t>());
  EXPECT_THROW(index.cosine(q, 10), Error);  // frozen: not indexed
}

// The share of queries (indexed rows with their city changed: an updated fact) for which the LSH
// returns the exact scan's answer.
double edited_row_recall(Fixture& f, const LshOptions& o, double* mean_slots) {
  SimilarityIndex index(f.tokens.data(), f.valid(), f.n, kLen, kPad, 0, f.emb, o);
  std::mt19937_64 rng(4);
  int same = 0, queries = 0;
  int64_t slots = 0;
  for (int q = 0; q < 300; ++q) {
    const int64_t i = static_cast<int64_t>(rng() % f.n);
    if (!f.valid()[i]) continue;
    auto ids = f.row(i);
    ids[5] = static_cast<int32_t>(10 + rng() % 30);  // another city
    const auto s = index.sketch(ids);
    const auto approx = index.nearest(s);
    const auto exact = index.nearest_exact(s);
    ++queries;
    same += approx.index == exact.index;
    slots += approx.candidates;
    EXPECT_LE(approx.candidates, o.max_candidates);
    EXPECT_LE(approx.reranked, o.rerank);
    EXPECT_LE(approx.cosine, exact.cosine + 1e-12);  // it cannot beat the exact scan
  }
  *mean_slots = static_cast<double>(slots) / queries;
  return static_cast<double>(same) / queries;
}

TEST(SimilarityIndex, FindsTheExactNearestForMostEditedRows) {
  // The original row shares 5 of its 6 content tokens with the query, among 20,000 rows of one
  // template (the benchmark's facts share more: names of 4-6 tokens).
  Fixture f(20000, 3);
  double slots_default = 0, slots_wide = 0;
  const double recall_default = edited_row_recall(f, LshOptions{}, &slots_default);
  LshOptions wide;
  wide.probes = 16;
  wide.max_candidates = 8192;
  wide.rerank = 32;
  const double recall_wide = edited_row_recall(f, wide, &slots_wide);
  EXPECT_GT(recall_default, 0.9) << "defaults, " << slots_default << " slots read per query";
  EXPECT_GT(recall_wide, 0.97) << "wide search, " << slots_wide << " slots read per query";
  EXPECT_GE(recall_wide, recall_default);
  EXPECT_LT(slots_default, 0.1 * f.n);
  EXPECT_LT(slots_wide, 0.25 * f.n) << "the index must not degenerate into a scan";
}

TEST(SimilarityIndex, StaysConsistentWhenEntriesChange) {
  Fixture f(2000, 5);
  LshOptions o;
  o.tables = 4;
  o.bits = 8;
  SimilarityIndex index(f.tokens.data(), f.valid(), f.n, kLen, kPad, 100, f.emb, o);
  int64_t expect = 0;
  for (int64_t i = 100; i < f.n; ++i) expect += f.valid()[i];
  EXPECT_EQ(index.stats().entries, expect);
  std::mt19937_64 rng(6);
  for (int step = 0; step < 500; ++step) {
    const int64_t i = 100 + static_cast<int64_t>(rng() % (f.n - 100));
    auto ids = template_row(rng);
    const auto s = index.sketch(ids);
    index.remove(i);
    EXPECT_FALSE(index.contains(i));
    std::copy(ids.begin(), ids.end(), f.tokens.begin() + i * kLen);
    if (!f.valid()[i]) ++expect;
    f.valid()[i] = true;
    index.insert(i, s);
    ASSERT_TRUE(index.contains(i));
    // A row just written is its own nearest neighbour (cosine 1), found by the LSH (same buckets).
    const auto m = index.nearest(s);
    ASSERT_NEAR(m.cosine, 1.0, 1e-5);
    ASSERT_NEAR(index.cosine(s, i), 1.0, 1e-5);
  }
  EXPECT_EQ(index.stats().entries, expect);
  // Rebuilding from the edited tables indexes the same entries and finds the same neighbours.
  SimilarityIndex rebuilt(f.tokens.data(), f.valid(), f.n, kLen, kPad, 100, f.emb, o);
  EXPECT_EQ(rebuilt.stats().entries, expect);
  for (int q = 0; q < 20; ++q) {
    const auto s = index.sketch(template_row(rng));
    EXPECT_EQ(index.nearest_exact(s).index, rebuilt.nearest_exact(s).index);
  }
}

TEST(SimilarityIndex, RejectsBadOptionsAndIds) {
  Fixture f(50, 7);
  LshOptions o;
  o.bits = 21;
  EXPECT_THROW(SimilarityIndex(f.tokens.data(), f.valid(), f.n, kLen, kPad, 0, f.emb, o), Error);
  o = LshOptions{};
  o.probes = 0;
  EXPECT_THROW(SimilarityIndex(f.tokens.data(), f.valid(), f.n, kLen, kPad, 0, f.emb, o), Error);
  SimilarityIndex index(f.tokens.data(), f.valid(), f.n, kLen, kPad, 0, f.emb, LshOptions{});
  EXPECT_THROW(index.sketch({1, 2, 3}), Error);                          // not L ids
  EXPECT_THROW(index.sketch({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, int32_t{kVocab}}), Error);  // outside the vocabulary
  const auto empty = index.sketch(std::vector<int32_t>(kLen, kPad));
  EXPECT_EQ(empty.tokens, 0);
  EXPECT_EQ(index.nearest(empty).index, -1);
}

}  // namespace
}  // namespace elm::infer
