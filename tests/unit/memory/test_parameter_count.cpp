// count_memory_layer_parameters against real MemoryLayer modules: for every variant (full and LoRA
// router/fusion, cosine and learned selection, each pooling, normalize_selected, frozen keys) the
// count must equal the requires_grad parameters of a constructed layer, in total and per
// submodule. Plus one hand-derived number at Qwen3-4B's shape, where building the layer is too big.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "memory/memory_layer.h"
#include "memory/parameter_count.h"
#include "memory/projection.h"
#include "support/assertions.h"

namespace elm::memory {
namespace {

using elm::testing::error_of;

MemoryConfig small_config() {
  MemoryConfig c;
  c.hidden_size = 12;
  c.knowledge_num = 36;  // grid 6 x 6
  c.knowledge_length = 3;
  c.knowledge_dim = 6;
  c.num_candidates = 4;
  c.num_candidates_internal = 3;
  c.dropout = 0.0;
  c.layers = {0};
  return c;
}

// requires_grad parameters of `m` (and of the submodule `prefix` when given).
int64_t trainable(const torch::nn::Module& m, const std::string& prefix = "") {
  int64_t n = 0;
  for (const auto& p : m.named_parameters(/*recurse=*/true)) {
    if (!p.value().requires_grad()) continue;
    if (!prefix.empty() && p.key().rfind(prefix + ".", 0) != 0) continue;
    n += p.value().numel();
  }
  return n;
}

// Builds the layer the way ExplicitLM does: frozen keys are passed in when model.keys_path is set.
MemoryLayer build(const MemoryConfig& c) {
  torch::Tensor keys;
  if (!c.keys_path.empty()) keys = torch::randn({2, c.grid_size(), c.knowledge_dim / 2});
  return MemoryLayer(c, 0, make_generator(7), keys);
}

void expect_exact(const MemoryConfig& c, const std::string& what) {
  const MemoryParameterCount n = count_memory_layer_parameters(c);
  MemoryLayer layer = build(c);
  EXPECT_EQ(n.total(), trainable(*layer)) << what;
  EXPECT_EQ(n.norm, trainable(*layer, "norm")) << what;
  EXPECT_EQ(n.router, trainable(*layer, "router")) << what;
  EXPECT_EQ(n.matcher, trainable(*layer, "matcher")) << what;
  EXPECT_EQ(n.pool_score, trainable(*layer, "pool_score")) << what;
  EXPECT_EQ(n.selected_norm, trainable(*layer, "selected_norm")) << what;
  EXPECT_EQ(n.fusion, trainable(*layer, "fusion")) << what;
}

TEST(MemoryParameterCount, MatchesConstructedLayersOfEveryVariant) {
  struct Variant {
    std::string name;
    void (*apply)(MemoryConfig&);
  };
  const std::vector<Variant> variants = {
      {"full (defaults)", [](MemoryConfig&) {}},
      {"router LoRA", [](MemoryConfig& c) { c.gate_rank = 2; }},
      {"fusion LoRA", [](MemoryConfig& c) { c.fusion_rank = 3; }},
      {"both LoRA", [](MemoryConfig& c) { c.gate_rank = 1; c.fusion_rank = 5; }},
      {"learned selection", [](MemoryConfig& c) { c.selection = SelectionMode::kLearned; }},
      {"learned + router score", [](MemoryConfig& c) {
         c.selection = SelectionMode::kLearned;
         c.selection_add_router_score = true;
       }},
      {"sequence_mean", [](MemoryConfig& c) { c.pooling = QueryPooling::kSequenceMean; }},
      {"weighted_prefix", [](MemoryConfig& c) { c.pooling = QueryPooling::kWeightedPrefix; }},
      {"normalize_selected", [](MemoryConfig& c) { c.normalize_selected = true; }},
      {"frozen keys", [](MemoryConfig& c) { c.keys_path = "keys.safetensors"; }},
      {"everything, LoRA", [](MemoryConfig& c) {
         c.gate_rank = 4;
         c.fusion_rank = 2;
         c.selection = SelectionMode::kLearned;
         c.pooling = QueryPooling::kWeightedPrefix;
         c.normalize_selected = true;
         c.keys_path = "keys.safetensors";
       }},
      {"everything, full", [](MemoryConfig& c) {
         c.selection = SelectionMode::kLearned;
         c.pooling = QueryPooling::kWeightedPrefix;
         c.normalize_selected = true;
       }},
      {"odd shapes", [](MemoryConfig& c) {
         c.hidden_size = 7;
         c.knowledge_num = 49;
         c.knowledge_dim = 10;
         c.num_candidates_internal = 7;
       }},
  };
  for (const auto& v : variants) {
    MemoryConfig c = small_config();
    v.apply(c);
    expect_exact(c, v.name);
  }
}

TEST(MemoryParameterCount, FrozenKeysAreNotCounted) {
  MemoryConfig c = small_config();
  const int64_t trained = count_memory_layer_parameters(c).router;
  c.keys_path = "keys.safetensors";
  EXPECT_EQ(trained - count_memory_layer_parameters(c).router, 2 * 6 * (6 / 2));
}

TEST(MemoryParameterCount, Qwen3FourBShapeByHand) {
  // d = 2560, knowledge_dim 128, N = 1024^2, configs/qwen3-4b.toml defaults:
  //   norm 2560
  //   router: query_proj 2560^2 + 2560; 2 blocks of LN 2*2560, fc1 2560*5120 + 5120,
  //           fc2 5120*2560 + 2560; out_norm 2*2560; out_proj 2560*128 + 128; keys 2*1024*64;
  //           logit_scale 1                                   = 59,474,561
  //   fusion: gate, up 5120*2560 each, down 2560^2; alpha MLP 1->16->1 (32 + 17), alpha_bias 1
  //                                                           = 32,768,050
  MemoryConfig c;
  c.hidden_size = 2560;
  c.layers = {0};
  const MemoryParameterCount n = count_memory_layer_parameters(c);
  EXPECT_EQ(n.router, 59474561);
  EXPECT_EQ(n.fusion, 32768050);
  EXPECT_EQ(n.total(), 2560 + 59474561 + 32768050);
}

TEST(MemoryParameterCount, ProjectionFormsByHand) {
  EXPECT_EQ(projection_parameter_count(3, 5, 0, false), 15);
  EXPECT_EQ(projection_parameter_count(3, 5, 0, true), 20);
  EXPECT_EQ(projection_parameter_count(3, 5, 2, false), 2 * 3 + 5 * 2);
  EXPECT_EQ(projection_parameter_count(3, 5, 2, true), 2 * 3 + 5 * 2 + 5);
}

TEST(MemoryParameterCount, InvalidConfigNamesTheKey) {
  MemoryConfig c = small_config();
  c.knowledge_num = 35;
  EXPECT_CONTAINS(error_of([&] { count_memory_layer_parameters(c); }), "model.knowledge_num = 35");
}

}  // namespace
}  // namespace elm::memory
