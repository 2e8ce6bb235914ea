// Product-key router (MemoryGate): a hand-computed candidate search, the query net's structure and
// parameter names, LoRA with B = 0, frozen keys from a file, and a finite-difference gradient check.
#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "core/error.h"
#include "io/safetensors.h"
#include "memory/projection.h"
#include "memory/router.h"
#include "memory_test_util.h"

namespace elm::memory {
namespace {

namespace fs = std::filesystem;

RouterOptions small_options(int64_t rank = 0) {
  RouterOptions o;
  o.hidden_size = 6;
  o.knowledge_num = 16;  // grid 4 x 4
  o.knowledge_dim = 4;
  o.num_candidates = 3;
  o.num_candidates_internal = 2;
  o.rank = rank;
  o.dropout = 0.0;
  return o;
}

std::vector<std::string> names_of(const torch::nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& p : m.named_parameters()) out.push_back(p.key());
  return out;
}

TEST(ProductKeySearch, HandComputedCandidates) {
  // Grid n = 3, half dimension 2. Keys (already unit length, except one to test normalisation).
  auto keys = torch::tensor({1.0, 0.0, 0.0, 1.0, -1.0, 0.0,     // half 0
                             2.0, 0.0, 0.6, 0.8, 0.0, -1.0},    // half 1 (first key not unit)
                            torch::kDouble)
                  .view({2, 3, 2});
  // Query halves (2, 0) and (3, 4): unit (1, 0) and (0.6, 0.8).
  auto q = torch::tensor({2.0, 0.0, 3.0, 4.0}, torch::kDouble).view({1, 4});
  // cos half0 = [1, 0, -1]; cos half1 = [0.6, 1, -0.8]. Scale 2.
  auto out = product_key_search(q, keys, torch::tensor(2.0, torch::kDouble), 2, 3);
  // Top-2 per half: half0 {0: 2, 1: 0}, half1 {1: 2, 0: 1.2}; sums: (0,1)=4, (0,0)=3.2, (1,1)=2, (1,0)=1.2.
  EXPECT_TRUE(torch::equal(out.indices, torch::tensor({1, 0, 4}, torch::kInt64).view({1, 3})));
  auto expected_logits = torch::tensor({4.0, 3.2, 2.0}, torch::kDouble).view({1, 3});
  EXPECT_TRUE(torch::allclose(out.logits, expected_logits, 0, 1e-12));
  const double z = std::exp(4.0) + std::exp(3.2) + std::exp(2.0);
  auto expected_scores = torch::tensor({std::exp(4.0) / z, std::exp(3.2) / z, std::exp(2.0) / z}, torch::kDouble).view({1, 3});
  EXPECT_TRUE(torch::allclose(out.scores, expected_scores, 0, 1e-12));
  EXPECT_TRUE(torch::allclose(out.half_logits[0], torch::tensor({2.0, 0.0, -2.0}, torch::kDouble).view({1, 3}), 0, 1e-12));
  EXPECT_TRUE(torch::allclose(out.half_logits[1], torch::tensor({1.2, 2.0, -1.6}, torch::kDouble).view({1, 3}), 0, 1e-12));
}

TEST(ProductKeySearch, EntryIndexIsRowTimesGridPlusColumn) {
  // Only key (2) of half 0 and key (1) of half 1 match: entry 2 * 4 + 1 = 9.
  auto keys = torch::zeros({2, 4, 2}, torch::kFloat32);
  keys[0].copy_(torch::tensor({0.f, 1.f, 0.f, 1.f, 1.f, 0.f, 0.f, 1.f}).view({4, 2}));
  keys[1].copy_(torch::tensor({0.f, 1.f, 1.f, 0.f, 0.f, 1.f, 0.f, 1.f}).view({4, 2}));
  auto q = torch::tensor({1.f, 0.f, 1.f, 0.f}).view({1, 4});
  auto out = product_key_search(q, keys, torch::tensor(1.f), 1, 1);
  EXPECT_EQ(out.indices.item<int64_t>(), 9);
}

TEST(MemoryGate, ShapesScoresAndScaleClamp) {
  MemoryGate router(small_options(), make_generator(1));
  router->eval();
  auto x = torch::randn({2, 5, 6});
  auto out = router->forward(x);
  ASSERT_EQ(out.indices.sizes(), (std::vector<int64_t>{2, 5, 3}));
  ASSERT_EQ(out.half_logits[0].sizes(), (std::vector<int64_t>{2, 5, 4}));
  EXPECT_GE(out.indices.min().item<int64_t>(), 0);
  EXPECT_LT(out.indices.max().item<int64_t>(), 16);
  EXPECT_TRUE(torch::allclose(out.scores.sum(-1), torch::ones({2, 5}), 0, 1e-6));
  // Candidates are distinct per query and sorted by logit.
  auto sorted = std::get<0>(out.indices.sort(-1));
  EXPECT_TRUE((sorted.narrow(-1, 1, 2) != sorted.narrow(-1, 0, 2)).all().item<bool>());
  EXPECT_TRUE((out.logits.narrow(-1, 0, 2) >= out.logits.narrow(-1, 1, 2)).all().item<bool>());
  EXPECT_NEAR(router->scale().item<double>(), 1.0 / 0.07, 1e-4);
  {
    torch::NoGradGuard g;
    router->logit_scale.fill_(10.0);
  }
  EXPECT_DOUBLE_EQ(router->scale().item<double>(), 100.0);
  // The output equals the search on the query net's output with the module's keys and scale.
  auto again = router->forward(x);
  auto manual = product_key_search(router->query(x), router->keys, torch::tensor(100.f), 2, 3);
  EXPECT_TRUE(torch::equal(again.indices, manual.indices));
}

TEST(MemoryGate, ParameterNamesAreStable) {
  MemoryGate full(small_options(), make_generator(1));
  // A module's own tensors come first, then its submodules' (LibTorch's order).
  const std::vector<std::string> expected_full = {
      "keys", "logit_scale", "query_proj.weight", "query_proj.bias", "blocks.0.norm.weight", "blocks.0.norm.bias",
      "blocks.0.fc1.weight", "blocks.0.fc1.bias", "blocks.0.fc2.weight", "blocks.0.fc2.bias",
      "blocks.1.norm.weight", "blocks.1.norm.bias", "blocks.1.fc1.weight", "blocks.1.fc1.bias",
      "blocks.1.fc2.weight", "blocks.1.fc2.bias", "out_norm.weight", "out_norm.bias",
      "out_proj.weight", "out_proj.bias"};
  EXPECT_EQ(names_of(*full), expected_full);
  EXPECT_EQ(full->query_proj->weight.sizes(), (std::vector<int64_t>{6, 6}));
  EXPECT_EQ(full->blocks[0]->as<RouterBlockImpl>()->fc1->weight.sizes(), (std::vector<int64_t>{12, 6}));
  EXPECT_EQ(full->out_proj->weight.sizes(), (std::vector<int64_t>{4, 6}));
  EXPECT_EQ(full->keys.sizes(), (std::vector<int64_t>{2, 4, 2}));

  MemoryGate lora(small_options(2), make_generator(1));
  const std::vector<std::string> expected_lora = {
      "keys", "logit_scale", "query_proj.A", "query_proj.B", "query_proj.bias", "blocks.0.norm.weight", "blocks.0.norm.bias",
      "blocks.0.fc1.A", "blocks.0.fc1.B", "blocks.0.fc1.bias", "blocks.0.fc2.A", "blocks.0.fc2.B",
      "blocks.0.fc2.bias", "out_norm.weight", "out_norm.bias", "out_proj.A", "out_proj.B", "out_proj.bias"};
  EXPECT_EQ(names_of(*lora), expected_lora);  // one residual block
  EXPECT_EQ(lora->query_proj->A.sizes(), (std::vector<int64_t>{2, 6}));
  EXPECT_EQ(lora->query_proj->B.sizes(), (std::vector<int64_t>{6, 2}));
}

TEST(MemoryGate, InitialisationIsDeterministicPerSeed) {
  MemoryGate a(small_options(), make_generator(7)), b(small_options(), make_generator(7)), c(small_options(), make_generator(8));
  EXPECT_TRUE(torch::equal(a->query_proj->weight, b->query_proj->weight));
  EXPECT_TRUE(torch::equal(a->keys, b->keys));
  EXPECT_FALSE(torch::equal(a->keys, c->keys));
}

TEST(Projection, LowRankWithZeroBIsExactlyTheBias) {
  Projection lora(5, 3, 2, true, make_generator(3));
  EXPECT_TRUE(torch::equal(lora->B, torch::zeros({3, 2})));
  auto x = torch::randn({4, 5});
  EXPECT_TRUE(torch::equal(lora->forward(x), lora->bias.expand({4, 3})));
  Projection no_bias(5, 3, 2, false, make_generator(3));
  EXPECT_TRUE(torch::equal(no_bias->forward(x), torch::zeros({4, 3})));
  // With B != 0 it is the dense linear map with weight B A.
  {
    torch::NoGradGuard g;
    lora->B.normal_();
  }
  EXPECT_TRUE(torch::allclose(lora->forward(x), torch::linear(x, torch::matmul(lora->B, lora->A), lora->bias), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(lora->effective_weight(), torch::matmul(lora->B, lora->A)));
}

TEST(MemoryGate, LoraWithZeroBIsTheBiasOnlyQueryNet) {
  // Every weight contribution is zero: the query does not depend on the input, so two different
  // inputs get identical candidates and logits.
  MemoryGate lora(small_options(2), make_generator(5));
  lora->eval();
  auto a = lora->forward(torch::randn({3, 6}));
  auto b = lora->forward(torch::randn({3, 6}) * 5);
  EXPECT_TRUE(torch::equal(a.indices, b.indices));
  EXPECT_TRUE(torch::equal(a.logits, b.logits));
  // The query is exactly out_proj's bias.
  auto q = lora->query(torch::randn({1, 6}));
  EXPECT_TRUE(torch::equal(q[0], lora->out_proj->bias));
}

TEST(MemoryGate, FiniteDifferenceGradients) {
  auto o = small_options();
  o.knowledge_num = 36;  // grid 6
  o.num_candidates_internal = 3;
  o.num_candidates = 4;
  MemoryGate router(o, make_generator(11));
  router->to(torch::kDouble);
  router->eval();
  auto x = torch::randn({3, 6}, torch::kDouble).requires_grad_(true);
  auto w_scores = testing::probe_weights({3, 4}, 1);
  auto w_logits = testing::probe_weights({3, 4}, 2);
  auto w_h0 = testing::probe_weights({3, 6}, 3);
  auto w_h1 = testing::probe_weights({3, 6}, 4);
  auto loss = [&] {
    auto out = router->forward(x);
    return (out.scores * w_scores).sum() + 0.1 * (out.logits * w_logits).sum() +
           0.1 * ((out.half_logits[0] * w_h0).sum() + (out.half_logits[1] * w_h1).sum());
  };
  // The candidate set must not change under the probe steps (top-k is piecewise).
  auto base = router->forward(x).indices.clone();
  std::vector<torch::Tensor> inputs = {x, router->query_proj->weight, router->blocks[1]->as<RouterBlockImpl>()->fc1->weight,
                                       router->out_norm->weight, router->out_proj->weight, router->keys,
                                       router->logit_scale};
  const double err = testing::gradcheck_error(loss, inputs, 1e-6);
  EXPECT_TRUE(torch::equal(router->forward(x).indices, base));
  EXPECT_LT(err, 1e-6);
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
}

TEST(MemoryGate, FrozenKeysFromSafetensors) {
  fs::path dir = fs::path(ELM_BINARY_DIR) / "test-tmp" / "router_keys";
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto keys = torch::randn({2, 4, 2});
  const std::string good = (dir / "keys.safetensors").string();
  io::write_safetensors(good, {{"keys", io::DType::F32, {2, 4, 2}, keys.data_ptr<float>()}});
  auto loaded = load_router_keys(good, 3, 16, 4);
  EXPECT_TRUE(torch::equal(loaded, keys));

  auto o = small_options();
  o.frozen_keys = loaded;
  MemoryGate router(o, make_generator(1));
  EXPECT_TRUE(router->keys_frozen());
  EXPECT_TRUE(torch::equal(router->keys, keys));
  auto names = names_of(*router);
  EXPECT_EQ(std::count(names.begin(), names.end(), "keys"), 0);  // a buffer, not a parameter
  EXPECT_EQ(router->named_buffers().size(), 1u);
  EXPECT_FALSE(router->keys.requires_grad());

  // A per-layer name wins over "keys".
  auto other = torch::randn({2, 4, 2});
  const std::string both = (dir / "both.safetensors").string();
  io::write_safetensors(both, {{"keys", io::DType::F32, {2, 4, 2}, keys.data_ptr<float>()},
                               {"memory.layers.3.router.keys", io::DType::F32, {2, 4, 2}, other.data_ptr<float>()}});
  EXPECT_TRUE(torch::equal(load_router_keys(both, 3, 16, 4), other));
  EXPECT_TRUE(torch::equal(load_router_keys(both, 0, 16, 4), keys));

  // Wrong shape: the message names the tensor, the file and the expected shape.
  try {
    load_router_keys(good, 0, 25, 4);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'keys'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(good), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2, 5, 2]"), std::string::npos) << msg;
  }
  // Missing tensor: names the file and both names tried.
  auto w = torch::zeros({1});
  const std::string empty = (dir / "none.safetensors").string();
  io::write_safetensors(empty, {{"other", io::DType::F32, {1}, w.data_ptr<float>()}});
  try {
    load_router_keys(empty, 2, 16, 4);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(empty), std::string::npos) << msg;
    EXPECT_NE(msg.find("memory.layers.2.router.keys"), std::string::npos) << msg;
  }
  // Keys of the wrong shape handed to the module directly.
  auto bad = small_options();
  bad.frozen_keys = torch::zeros({2, 3, 2});
  EXPECT_THROW(MemoryGate(bad, make_generator(1)), Error);
}

}  // namespace
}  // namespace elm::memory
