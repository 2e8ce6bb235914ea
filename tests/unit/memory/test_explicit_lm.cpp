// ExplicitLM end to end on small random backbones (and the reference tiny Qwen3): alpha = 0 is
// bit-exact Qwen3, causal_prefix does not leak future tokens while sequence_mean does, KV-cache
// decoding equals a full forward, padding is ignored, and only the memory components train, under
// stable names.
#include <set>

#include <gtest/gtest.h>

#include "core/config.h"
#include "core/error.h"
#include "memory/explicit_lm.h"
#include "memory/losses.h"
#include "model/qwen3_model.h"
#include "model/tiny_qwen3.h"
#include "support/reference_data.h"
#include "support/small_explicit_lm.h"

namespace elm::memory {
namespace {

using testing::ids_tensor;
using testing::small_backbone;
using testing::small_bank;
using testing::small_config;
using testing::small_memory;

const std::vector<int64_t> kIds = {5, 17, 200, 42, 7, 99, 123, 8, 64, 1, 33, 250};

TEST(ExplicitLM, ForcedZeroAlphaIsBitExactQwen3) {
  torch::NoGradGuard no_grad;
  auto backbone = small_backbone();
  const auto plain = backbone->forward(ids_tensor(kIds)).logits;
  for (auto pooling : {QueryPooling::kCausalPrefix, QueryPooling::kSequenceMean}) {
    ExplicitLM lm(backbone, small_bank(), small_memory(pooling), 7);
    for (bool training : {false, true}) {
      lm.train(training);
      ExplicitForwardOptions o;
      o.force_zero_alpha = true;
      auto out = lm.forward(ids_tensor(kIds), o);
      EXPECT_TRUE(torch::equal(out.logits, plain)) << pooling_name(pooling) << " training " << training;
      ASSERT_EQ(out.layers.size(), 3u);
      for (const auto& l : out.layers) EXPECT_TRUE(torch::equal(l.alpha, torch::zeros_like(l.alpha)));
      // The memory path ran (candidates and selections exist) and, unforced, changes the logits.
      EXPECT_GE(out.layers[0].selected_indices.min().item<int64_t>(), 0);
      auto free = lm.forward(ids_tensor(kIds));
      EXPECT_GT((free.logits - plain).abs().max().item<double>(), 1e-4);
      EXPECT_GT(free.layers[0].alpha.min().item<double>(), 0.0);
    }
    // The model-wide switch does the same.
    lm.eval();
    lm.set_force_zero_alpha(true);
    EXPECT_TRUE(torch::equal(lm.forward(ids_tensor(kIds)).logits, plain));
  }
}

TEST(ExplicitLM, ForcedZeroAlphaIsBitExactWithABFloat16Backbone) {
  torch::NoGradGuard no_grad;
  auto backbone = std::make_shared<const model::Qwen3Model>(small_config(), model::random_qwen3_weights(small_config(), 3),
                                                            torch::kBFloat16);
  const auto plain = backbone->forward(ids_tensor(kIds));
  ExplicitLM lm(backbone, small_bank(), small_memory(), 7);
  lm.eval();
  ExplicitForwardOptions o;
  o.force_zero_alpha = true;
  auto out = lm.forward(ids_tensor(kIds), o);
  EXPECT_TRUE(torch::equal(out.logits, plain.logits));
  EXPECT_TRUE(torch::equal(out.hidden, plain.hidden));
  EXPECT_EQ(out.hidden.scalar_type(), torch::kBFloat16);
  EXPECT_FALSE(torch::equal(lm.forward(ids_tensor(kIds)).logits, plain.logits));
}

TEST(ExplicitLM, ForcedZeroAlphaIsBitExactOnTheReferenceTinyQwen3) {
  torch::NoGradGuard no_grad;
  const auto& ref = testing::reference_tiny_f32();
  std::shared_ptr<const model::Qwen3Model> backbone(&ref, [](const model::Qwen3Model*) {});
  const auto seq = testing::load_reference_sequence("seq8");
  auto ids = torch::tensor(seq.ids, torch::kInt64).unsqueeze(0);
  const auto plain = backbone->forward(ids).logits;
  auto mc = small_memory(QueryPooling::kCausalPrefix, backbone->config().hidden_size);
  mc.selection = SelectionMode::kLearned;
  mc.selection_add_router_score = true;
  mc.normalize_selected = true;
  ExplicitLM lm(backbone, small_bank(backbone->config().vocab_size), mc, 3);
  lm.eval();
  ExplicitForwardOptions o;
  o.force_zero_alpha = true;
  EXPECT_TRUE(torch::equal(lm.forward(ids, o).logits, plain));
  EXPECT_GT((lm.forward(ids).logits - plain).abs().max().item<double>(), 1e-4);
}

// Logits at positions < T-1 for ids with the last token replaced.
torch::Tensor prefix_logits(ExplicitLM& lm, std::vector<int64_t> ids, int64_t last) {
  ids.back() = last;
  auto out = lm.forward(ids_tensor(ids)).logits[0];
  return out.narrow(0, 0, static_cast<int64_t>(ids.size()) - 1);
}

TEST(ExplicitLM, SequenceMeanLeaksFutureTokensCausalPrefixDoesNot) {
  torch::NoGradGuard no_grad;
  auto backbone = small_backbone();
  const std::vector<int64_t> ids = {12, 77, 31, 140, 9};
  ExplicitLM causal(backbone, small_bank(), small_memory(QueryPooling::kCausalPrefix), 5);
  ExplicitLM seq(backbone, small_bank(), small_memory(QueryPooling::kSequenceMean), 5);
  causal.eval();
  seq.eval();
  const auto causal_ref = prefix_logits(causal, ids, ids.back());
  const auto seq_ref = prefix_logits(seq, ids, ids.back());
  int leaks = 0;
  for (int64_t last = 1; last < 60; last += 3) {
    // causal_prefix: the logits of the prefix never change when a later token changes.
    EXPECT_TRUE(torch::equal(prefix_logits(causal, ids, last), causal_ref)) << "last token " << last;
    if ((prefix_logits(seq, ids, last) - seq_ref).abs().max().item<double>() > 1e-4) ++leaks;
  }
  // sequence_mean: the router query of every position sees the last token, and the prefix's logits move.
  EXPECT_GT(leaks, 0);
}

// weighted_prefix starts near causal_prefix (scores ~1e-3); random scores make its weights matter.
void randomize_pool_scores(ExplicitLM& lm) {
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(17);
  int n = 0;
  for (auto& [name, t] : lm.named_trainable_parameters()) {
    if (name.find(".pool_score.") == std::string::npos) continue;
    t.copy_(torch::randn(t.sizes(), gen) * 2);
    ++n;
  }
  ASSERT_GT(n, 0);
}

class KVCache : public ::testing::TestWithParam<QueryPooling> {};

TEST_P(KVCache, DecodingEqualsFullForward) {
  torch::NoGradGuard no_grad;
  auto backbone = small_backbone();
  ExplicitLM lm(backbone, small_bank(), small_memory(GetParam()), 9);
  if (GetParam() == QueryPooling::kWeightedPrefix) randomize_pool_scores(lm);
  lm.eval();
  const auto full = lm.forward(ids_tensor(kIds));
  auto cache = lm.new_cache(1, 32);
  ExplicitForwardOptions o;
  o.cache = &cache;
  std::vector<torch::Tensor> rows, selected;
  auto step = [&](size_t from, size_t to) {
    auto out = lm.forward(ids_tensor({kIds.begin() + from, kIds.begin() + to}), o);
    rows.push_back(out.logits[0]);
    selected.push_back(out.layers[2].selected_indices[0]);
  };
  step(0, 4);  // prefill
  step(4, 7);  // a chunk
  for (size_t i = 7; i < kIds.size(); ++i) step(i, i + 1);
  auto incremental = torch::cat(rows, 0);
  EXPECT_EQ(cache.length(), static_cast<int64_t>(kIds.size()));
  EXPECT_EQ(cache.pooling().size(), 3u);
  EXPECT_LT((incremental - full.logits[0]).abs().max().item<double>(), 1e-5);
  EXPECT_TRUE(torch::equal(torch::cat(selected, 0), full.layers[2].selected_indices[0]));
  // Reset: a second run from scratch gives the same result.
  cache.reset();
  auto again = lm.forward(ids_tensor(kIds), o);
  EXPECT_LT((again.logits[0] - full.logits[0]).abs().max().item<double>(), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(ExplicitLM, KVCache,
                         ::testing::Values(QueryPooling::kCausalPrefix, QueryPooling::kWeightedPrefix),
                         [](const auto& info) { return std::string(pooling_name(info.param)); });

TEST(ExplicitLM, LeftPaddingIsIgnored) {
  torch::NoGradGuard no_grad;
  auto backbone = small_backbone();
  for (auto pooling : {QueryPooling::kCausalPrefix, QueryPooling::kSequenceMean, QueryPooling::kWeightedPrefix}) {
    ExplicitLM lm(backbone, small_bank(), small_memory(pooling), 2);
    if (pooling == QueryPooling::kWeightedPrefix) randomize_pool_scores(lm);
    lm.eval();
    const std::vector<int64_t> a = {3, 99, 14, 250, 61, 8};
    const std::vector<int64_t> b = {77, 5, 120, 4};
    auto la = lm.forward(ids_tensor(a)).logits[0];
    auto lb = lm.forward(ids_tensor(b)).logits[0];
    auto ids = torch::tensor({3, 99, 14, 250, 61, 8, 0, 0, 77, 5, 120, 4}, torch::kInt64).view({2, 6});
    auto mask = torch::tensor({1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1}, torch::kInt64).view({2, 6});
    ExplicitForwardOptions o;
    o.attention_mask = mask;
    auto out = lm.forward(ids, o).logits;
    EXPECT_LT((out[0] - la).abs().max().item<double>(), 1e-5) << pooling_name(pooling);
    EXPECT_LT((out[1].narrow(0, 2, 4) - lb).abs().max().item<double>(), 1e-5) << pooling_name(pooling);
  }
}

TEST(ExplicitLM, InvalidAndAllPaddingEntriesAreNeverSelected) {
  torch::NoGradGuard no_grad;
  auto backbone = small_backbone();
  ExplicitLM lm(backbone, small_bank(), small_memory(), 4);
  auto ids = torch::randint(1, 256, {4, 24}, make_generator(3), torch::kInt64);
  std::set<int64_t> proposed;
  for (bool training : {false, true}) {
    lm.train(training);
    auto out = lm.forward(ids);
    for (const auto& l : out.layers) {
      auto sel = l.selected_indices;
      for (int64_t bad : {5, 9, 11}) EXPECT_FALSE(sel.eq(bad).any().item<bool>()) << "entry " << bad;
      auto cand = l.candidate_indices.reshape({-1});
      for (int64_t i = 0; i < cand.numel(); ++i) proposed.insert(cand[i].item<int64_t>());
      // Candidates flagged invalid line up with the bad entries.
      auto bad_mask = l.candidate_indices.eq(5) | l.candidate_indices.eq(9) | l.candidate_indices.eq(11);
      EXPECT_TRUE(torch::equal(bad_mask, l.candidate_valid.logical_not()));
    }
  }
  // The router did propose the bad entries at least sometimes, so the test exercised the masking.
  EXPECT_TRUE(proposed.count(5) || proposed.count(9) || proposed.count(11));
}

TEST(ExplicitLM, OnlyMemoryComponentsTrainUnderStableNames) {
  auto backbone = small_backbone();
  auto mc = small_memory(QueryPooling::kCausalPrefix, 32, {0, 2});
  ExplicitLM lm(backbone, small_bank(), mc, 1);
  auto named = lm.named_trainable_parameters();
  std::vector<std::string> names;
  int64_t count = 0;
  for (const auto& [n, t] : named) {
    names.push_back(n);
    count += t.numel();
    EXPECT_EQ(n.rfind("memory.layers.", 0), 0u) << n;
  }
  EXPECT_EQ(count, lm.trainable_parameter_count());
  const std::vector<std::string> expected_layer = {
      "norm.weight", "router.keys", "router.logit_scale", "router.query_proj.weight", "router.query_proj.bias", "router.blocks.0.norm.weight",
      "router.blocks.0.norm.bias", "router.blocks.0.fc1.weight", "router.blocks.0.fc1.bias",
      "router.blocks.0.fc2.weight", "router.blocks.0.fc2.bias", "router.blocks.1.norm.weight",
      "router.blocks.1.norm.bias", "router.blocks.1.fc1.weight", "router.blocks.1.fc1.bias",
      "router.blocks.1.fc2.weight", "router.blocks.1.fc2.bias", "router.out_norm.weight", "router.out_norm.bias",
      "router.out_proj.weight", "router.out_proj.bias", "fusion.alpha_bias", "fusion.gate_proj.weight", "fusion.up_proj.weight", "fusion.down_proj.weight", "fusion.alpha_fc1.weight",
      "fusion.alpha_fc1.bias", "fusion.alpha_fc2.weight", "fusion.alpha_fc2.bias"};
  std::vector<std::string> expected;
  for (const char* layer : {"0", "2"}) {
    for (const auto& n : expected_layer) expected.push_back(std::string("memory.layers.") + layer + "." + n);
  }
  EXPECT_EQ(names, expected);
  // The backbone's tensors are not parameters of the model and never receive gradients.
  for (const auto& [n, t] : backbone->weights().named_tensors()) EXPECT_FALSE(t.requires_grad()) << n;

  // Training step: gradients reach the memory norm and the fusion through CE-like and similarity
  // losses, and the router through its soft-label loss.
  lm.train();
  lm.set_selection_seed(3);
  auto out = lm.forward(ids_tensor(kIds));
  const auto& l0 = out.layers[0];
  auto probe = torch::randn(out.logits.sizes(), make_generator(1));
  auto targets = l0.candidate_indices.reshape({-1, 4});
  auto router_loss = router_soft_label_loss(l0.half_logits[0].reshape({-1, 8}), l0.half_logits[1].reshape({-1, 8}),
                                            targets, l0.candidate_scores.detach().reshape({-1, 4}));
  ((out.logits * probe).mean() + 0.1 * out.similarity_loss + router_loss).backward();
  auto grad_of = [&](const std::string& name) {
    for (const auto& [n, t] : named) {
      if (n == name) return t.grad().defined() ? t.grad().abs().sum().item<double>() : 0.0;
    }
    ADD_FAILURE() << "no parameter " << name;
    return 0.0;
  };
  EXPECT_GT(grad_of("memory.layers.0.norm.weight"), 0.0);
  EXPECT_GT(grad_of("memory.layers.0.fusion.gate_proj.weight"), 0.0);
  EXPECT_GT(grad_of("memory.layers.2.fusion.down_proj.weight"), 0.0);
  EXPECT_GT(grad_of("memory.layers.0.fusion.alpha_fc2.weight"), 0.0);
  EXPECT_GT(grad_of("memory.layers.0.router.query_proj.weight"), 0.0);
  EXPECT_GT(grad_of("memory.layers.0.router.keys"), 0.0);
  for (const auto& [n, t] : backbone->weights().named_tensors()) EXPECT_FALSE(t.grad().defined()) << n;
}

TEST(ExplicitLM, OptionalModulesAndLoraNames) {
  auto mc = small_memory(QueryPooling::kCausalPrefix, 32, {1});
  mc.selection = SelectionMode::kLearned;
  mc.normalize_selected = true;
  mc.gate_rank = 2;
  mc.fusion_rank = 3;
  mc.pooling = QueryPooling::kWeightedPrefix;
  ExplicitLM lm(small_backbone(), small_bank(), mc, 1);
  std::set<std::string> names;
  for (const auto& [n, t] : lm.named_trainable_parameters()) names.insert(n);
  for (const char* n : {"memory.layers.1.matcher.proj.weight", "memory.layers.1.matcher.log_scale",
                        "memory.layers.1.selected_norm.weight", "memory.layers.1.router.query_proj.A",
                        "memory.layers.1.router.query_proj.B", "memory.layers.1.fusion.down_proj.B",
                        "memory.layers.1.pool_score.weight", "memory.layers.1.pool_score.bias"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
  EXPECT_FALSE(names.count("memory.layers.1.router.blocks.1.fc1.A"));  // LoRA router: one block
  EXPECT_FALSE(names.count("memory.layers.1.fusion.alpha_bias"));      // LoRA fusion: alpha = clamp(similarity)
  // The LoRA fusion starts as the identity on h: the logits are the backbone's.
  torch::NoGradGuard no_grad;
  lm.eval();
  auto out = lm.forward(ids_tensor(kIds));
  EXPECT_TRUE(torch::equal(out.logits, small_backbone()->forward(ids_tensor(kIds)).logits));
  auto sim = out.layers[0].similarity;
  EXPECT_TRUE(torch::allclose(out.layers[0].alpha, sim.clamp(0, 1)));
}

TEST(ExplicitLM, GumbelSelectionIsDeterministicPerSeed) {
  torch::NoGradGuard no_grad;
  ExplicitLM lm(small_backbone(), small_bank(), small_memory(), 4);
  lm.train();
  lm.set_selection_seed(11);
  auto a = lm.forward(ids_tensor(kIds));
  lm.set_selection_seed(11);
  auto b = lm.forward(ids_tensor(kIds));
  for (size_t i = 0; i < a.layers.size(); ++i) {
    EXPECT_TRUE(torch::equal(a.layers[i].selected_indices, b.layers[i].selected_indices));
  }
  EXPECT_TRUE(torch::equal(a.logits, b.logits));
}

TEST(ExplicitLM, FromConfigAndClearErrors) {
  Config cfg;
  cfg.apply_override("model.knowledge_num=64");
  cfg.apply_override("model.knowledge_length=4");
  cfg.apply_override("model.knowledge_dim=8");
  cfg.apply_override("model.num_candidates=4");
  cfg.apply_override("model.num_candidates_internal=4");
  cfg.apply_override("memory.layers=0,2");
  cfg.apply_override("memory.query_pooling=sequence_mean");
  auto lm = ExplicitLM::from_config(cfg, small_backbone(), small_bank());
  EXPECT_EQ(lm.memory_layers(), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(lm.config().pooling, QueryPooling::kSequenceMean);
  EXPECT_EQ(lm.config().hidden_size, 32);
  EXPECT_EQ(lm.config().dropout, 0.1);
  EXPECT_NO_THROW(lm.layer(2));
  EXPECT_THROW(lm.layer(1), Error);

  auto expect_error = [&](const std::string& override_text, const std::string& needle) {
    Config c = cfg;
    c.apply_override(override_text);
    try {
      ExplicitLM::from_config(c, small_backbone(), small_bank());
      ADD_FAILURE() << override_text << ": no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << override_text << ": " << e.what();
    }
  };
  expect_error("model.knowledge_num=60", "perfect square");
  expect_error("memory.layers=0,7", "layer 7 does not exist");
  expect_error("memory.layers=zero", "memory.layers");
  expect_error("model.knowledge_dim=7", "model.knowledge_dim");
  expect_error("model.num_candidates_internal=9", "model.num_candidates_internal");
  expect_error("model.knowledge_num=81", "model.knowledge_num = 81");  // not the bank's 64
  expect_error("model.keys_path=/nonexistent/keys.safetensors", "/nonexistent/keys.safetensors");
}

}  // namespace
}  // namespace elm::memory
