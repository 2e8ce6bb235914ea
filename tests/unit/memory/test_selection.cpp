// Candidate embeddings and selection: hand-computed means and cosines, invalid and all-padding
// entries never selected, deterministic Gumbel noise, the straight-through estimator and a
// finite-difference check of the soft selection path, the learned content matcher.
#include <cmath>

#include <gtest/gtest.h>

#include "core/error.h"
#include "memory/bank_reader.h"
#include "memory/candidates.h"
#include "memory/selection.h"
#include "memory_test_util.h"

namespace elm::memory {
namespace {

// Embedding table of 6 tokens, d = 2.
torch::Tensor table() {
  return torch::tensor({1.f, 0.f, 0.f, 1.f, 2.f, 2.f, -1.f, 0.f, 0.f, -3.f, 10.f, 10.f}).view({6, 2});
}

TEST(Candidates, MeanOfNonPaddingTokenEmbeddings) {
  // pad id 5 (its embedding (10, 10) must never enter a mean).
  auto tokens = torch::tensor({0, 1, 5, 5,    // mean((1,0),(0,1)) = (0.5, 0.5)
                               2, 5, 3, 5,    // mean((2,2),(-1,0)) = (0.5, 1)
                               5, 5, 5, 5,    // all padding: invalid even though flagged valid
                               4, 4, 4, 0},   // flagged invalid
                              torch::kInt64)
                    .view({4, 4});
  auto valid = torch::tensor({true, true, true, false});
  auto out = mean_token_embeddings(tokens, valid, 5, table());
  auto expected = torch::tensor({0.5f, 0.5f, 0.5f, 1.f, 0.f, 0.f, 0.f, 0.f}).view({4, 2});
  EXPECT_TRUE(torch::allclose(out.embeddings, expected, 0, 1e-7)) << out.embeddings;
  EXPECT_TRUE(torch::equal(out.valid, torch::tensor({true, true, false, false})));
}

TEST(Candidates, TokenOutsideTheVocabularyIsAClearError) {
  auto tokens = torch::tensor({0, 9, 5}, torch::kInt64).view({1, 3});
  try {
    mean_token_embeddings(tokens, torch::tensor({true}), 5, table());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token id 9"), std::string::npos) << e.what();
  }
  // The same row flagged invalid is never read, so it is no error.
  EXPECT_NO_THROW(mean_token_embeddings(tokens, torch::tensor({false}), 5, table()));
}

TEST(Candidates, EmbedCandidatesKeepsTheIndexShape) {
  auto tokens = torch::tensor({0, 5, 1, 1, 5, 5, 2, 3}, torch::kInt32).view({4, 2});
  LocalBankReader bank(tokens, torch::tensor({true, true, false, true}), 5);
  auto idx = torch::tensor({3, 0, 2, 3, 1, 0}, torch::kInt64).view({2, 3});
  auto out = embed_candidates(bank, idx, table());
  ASSERT_EQ(out.embeddings.sizes(), (std::vector<int64_t>{2, 3, 2}));
  EXPECT_TRUE(torch::equal(out.valid, torch::tensor({true, true, false, true, true, true}).view({2, 3})));
  EXPECT_TRUE(torch::allclose(out.embeddings[0][0], torch::tensor({0.5f, 1.f})));
  EXPECT_TRUE(torch::allclose(out.embeddings[0][1], torch::tensor({1.f, 0.f})));
  EXPECT_TRUE(torch::allclose(out.embeddings[1][1], torch::tensor({0.f, 1.f})));
  EXPECT_TRUE(torch::equal(out.embeddings[0][2], torch::zeros({2})));
}

TEST(Selection, CosineHandComputed) {
  auto x = torch::tensor({3.0, 4.0}, torch::kDouble).view({1, 2});
  auto cand = torch::tensor({1.0, 0.0, 0.0, 2.0, -3.0, -4.0, 0.0, 0.0}, torch::kDouble).view({1, 4, 2});
  auto cos = candidate_cosine(x, cand);
  EXPECT_TRUE(torch::allclose(cos, torch::tensor({0.6, 0.8, -1.0, 0.0}, torch::kDouble).view({1, 4}), 0, 1e-12));
}

TEST(Selection, EvalIsArgmaxAndSkipsInvalid) {
  auto logits = torch::tensor({0.1f, 0.9f, 0.5f, 0.7f, 0.2f, 0.3f}).view({2, 3});
  auto valid = torch::tensor({true, false, true, true, true, true}).view({2, 3});
  auto s = select_candidates(logits, valid, {});
  EXPECT_TRUE(torch::equal(s.positions, torch::tensor({2, 0}, torch::kInt64).view({2, 1})));
  EXPECT_TRUE(torch::equal(s.weights, torch::tensor({0.f, 0.f, 1.f, 1.f, 0.f, 0.f}).view({2, 3})));
  // k = 2: 1/2 on each of the two best valid ones.
  SelectionOptions two;
  two.num_selected = 2;
  auto s2 = select_candidates(logits, valid, two);
  EXPECT_TRUE(torch::equal(s2.weights, torch::tensor({0.5f, 0.f, 0.5f, 0.5f, 0.f, 0.5f}).view({2, 3})));
  // Only one valid candidate for k = 2: it alone gets weight 1, the other slot reports -1.
  auto one_valid = torch::tensor({false, false, true, true, true, true}).view({2, 3});
  auto s3 = select_candidates(logits, one_valid, two);
  EXPECT_TRUE(torch::equal(s3.weights[0], torch::tensor({0.f, 0.f, 1.f})));
  EXPECT_EQ(s3.positions[0][1].item<int64_t>(), -1);
  // Nothing valid: zero weights, position -1, no NaN.
  auto none = select_candidates(logits, torch::zeros({2, 3}, torch::kBool), {});
  EXPECT_TRUE(torch::equal(none.weights, torch::zeros({2, 3})));
  EXPECT_TRUE(torch::equal(none.positions, torch::full({2, 1}, -1, torch::kInt64)));
  EXPECT_FALSE(none.any_valid.any().item<bool>());
}

TEST(Selection, AllPaddingEntryIsNeverSelectedEvenWithTheHighestCosine) {
  // Entry 0 is all padding (flagged valid in the bank); entries 1 and 2 point away from the
  // query, so the zero embedding of entry 0 would have the highest cosine (0 > negative).
  auto tokens = torch::tensor({5, 5, 3, 5, 3, 4}, torch::kInt32).view({3, 2});  // (-1,0); mean((-1,0),(0,-3))
  LocalBankReader bank(tokens, torch::tensor({true, true, true}), 5);
  auto cand = embed_candidates(bank, torch::tensor({0, 1, 2}, torch::kInt64).view({1, 3}), table());
  auto h = torch::tensor({1.f, 0.1f}).view({1, 2});
  auto cos = candidate_cosine(h, cand.embeddings);
  ASSERT_GT(cos[0][0].item<float>(), cos[0][1].item<float>());
  ASSERT_GT(cos[0][0].item<float>(), cos[0][2].item<float>());
  EXPECT_FALSE(cand.valid[0][0].item<bool>());
  auto eval = select_candidates(cos, cand.valid, {});
  EXPECT_NE(eval.positions.item<int64_t>(), 0);
  SelectionOptions train;
  train.training = true;
  train.generator = make_generator(0);
  for (int i = 0; i < 200; ++i) {
    auto s = select_candidates(cos * 50, cand.valid, train);  // sharp logits, many noise draws
    ASSERT_NE(s.positions.item<int64_t>(), 0) << "draw " << i;
    ASSERT_EQ(s.weights[0][0].item<float>(), 0.f);
  }
}

TEST(Selection, GumbelIsDeterministicPerSeedAndFollowsTheNoise) {
  auto logits = torch::randn({64, 5});
  auto valid = torch::ones({64, 5}, torch::kBool);
  SelectionOptions o;
  o.training = true;
  o.generator = make_generator(42);
  auto a = select_candidates(logits, valid, o);
  o.generator = make_generator(42);
  auto b = select_candidates(logits, valid, o);
  o.generator = make_generator(43);
  auto c = select_candidates(logits, valid, o);
  EXPECT_TRUE(torch::equal(a.positions, b.positions));
  EXPECT_FALSE(torch::equal(a.positions, c.positions));
  // The choice is argmax(logits + g) for the drawn noise, and differs from the plain argmax somewhere.
  auto g = gumbel_noise({64, 5}, torch::kFloat32, torch::kCPU, make_generator(42));
  EXPECT_TRUE(torch::equal(a.positions.squeeze(-1), (logits + g).argmax(-1)));
  EXPECT_FALSE(torch::equal(a.positions.squeeze(-1), logits.argmax(-1)));
  // Forward values are the hard one-hot choice.
  EXPECT_TRUE(torch::allclose(a.weights, torch::zeros({64, 5}).scatter(-1, a.positions, 1.0), 0, 1e-6));
  // Temperature changes the soft weights but not the hard choice.
  o.generator = make_generator(42);
  o.temperature = 0.5;
  EXPECT_TRUE(torch::equal(select_candidates(logits, valid, o).positions, a.positions));
}

TEST(Selection, StraightThroughGradientIsTheSoftPathGradient) {
  auto logits = torch::randn({4, 6}, torch::kDouble).requires_grad_(true);
  auto valid = torch::ones({4, 6}, torch::kBool);
  valid[1][3] = false;
  auto noise = gumbel_noise({4, 6}, torch::kDouble, torch::kCPU, make_generator(5));
  auto cand = torch::randn({4, 6, 3}, torch::kDouble);
  auto probe = testing::probe_weights({4, 3}, 9);
  SelectionOptions o;
  o.training = true;
  o.temperature = 0.7;
  o.noise = noise;
  auto hard = select_candidates(logits, valid, o);
  (combine_selected(hard.weights, cand) * probe).sum().backward();
  auto g_hard = logits.grad().clone();
  logits.mutable_grad().zero_();
  o.hard = false;
  auto soft = select_candidates(logits, valid, o);
  (combine_selected(soft.weights, cand) * probe).sum().backward();
  EXPECT_TRUE(torch::allclose(g_hard, logits.grad(), 0, 1e-12));
  EXPECT_GT(g_hard.abs().sum().item<double>(), 0);
  EXPECT_EQ(g_hard[1][3].item<double>(), 0.0);  // the invalid candidate gets no gradient
  // Forward: hard selects exactly one candidate; soft is a distribution.
  EXPECT_TRUE(torch::allclose(hard.weights.sum(-1), torch::ones({4}, torch::kDouble)));
  EXPECT_TRUE(torch::allclose(combine_selected(hard.weights, cand)[0], cand[0][hard.positions[0][0].item<int64_t>()]));
}

TEST(Selection, SoftPathFiniteDifferenceGradients) {
  auto h = torch::randn({3, 4}, torch::kDouble).requires_grad_(true);
  auto cand = torch::randn({3, 5, 4}, torch::kDouble).requires_grad_(true);
  auto valid = torch::ones({3, 5}, torch::kBool);
  valid[2][0] = false;
  auto noise = gumbel_noise({3, 5}, torch::kDouble, torch::kCPU, make_generator(17));
  auto probe = testing::probe_weights({3, 4}, 3);
  SelectionOptions o;
  o.training = true;
  o.hard = false;
  o.temperature = 0.8;
  o.noise = noise;
  auto loss = [&] {
    auto cos = candidate_cosine(h, cand);
    auto s = select_candidates(cos * 3.0, valid, o);
    return (combine_selected(s.weights, cand) * probe).sum() + (s.weights * cos).sum();
  };
  EXPECT_LT(testing::gradcheck_error(loss, {h, cand}, 1e-6), 1e-7);
}

TEST(ContentMatcher, IdentityInitScaleAndParameterNames) {
  ContentMatcher m(3, make_generator(0));
  std::vector<std::string> names;
  for (const auto& p : m->named_parameters()) names.push_back(p.key());
  EXPECT_EQ(names, (std::vector<std::string>{"log_scale", "proj.weight"}));
  auto q = torch::randn({2, 3});
  auto cand = torch::randn({2, 4, 3});
  EXPECT_TRUE(torch::allclose(m->cosine(q, cand), candidate_cosine(q, cand), 0, 1e-6));
  EXPECT_NEAR(m->scale().item<double>(), 1.0 / 0.07, 1e-4);
  {
    torch::NoGradGuard g;
    m->proj->weight.copy_(torch::diag(torch::tensor({1.f, 0.f, 0.f})));
  }
  // Only the first component survives the projection: cosine = sign of the first coordinates.
  auto qq = torch::tensor({2.f, 5.f, 7.f}).view({1, 3});
  auto cc = torch::tensor({1.f, 9.f, 9.f, -3.f, 1.f, 1.f}).view({1, 2, 3});
  EXPECT_TRUE(torch::allclose(m->cosine(qq, cc), torch::tensor({1.f / std::sqrt(163.f), -3.f / std::sqrt(11.f)}).view({1, 2}), 0, 1e-6));
}

}  // namespace
}  // namespace elm::memory
