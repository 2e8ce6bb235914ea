#include "memory/parameter_count.h"

#include "memory/fusion.h"

namespace elm::memory {

int64_t projection_parameter_count(int64_t in_features, int64_t out_features, int64_t rank, bool bias) {
  const int64_t weights = rank == 0 ? out_features * in_features : rank * in_features + out_features * rank;
  return weights + (bias ? out_features : 0);
}

namespace {

// torch::nn::LayerNorm({d}) with its default elementwise affine: weight and bias.
int64_t layer_norm(int64_t d) { return 2 * d; }

// MemoryGate (router.cpp): query_proj, the residual blocks, out_norm, out_proj, keys, logit_scale.
int64_t router(const MemoryConfig& c) {
  const int64_t d = c.hidden_size, r = c.gate_rank;
  const int64_t blocks = r > 0 ? 1 : 2;  // the LoRA router has one residual block
  const int64_t block = layer_norm(d) + projection_parameter_count(d, 2 * d, r, true) +
                        projection_parameter_count(2 * d, d, r, true);
  // Keys loaded from model.keys_path are a buffer: frozen, not trained.
  const int64_t keys = c.keys_path.empty() ? 2 * c.grid_size() * (c.knowledge_dim / 2) : 0;
  return projection_parameter_count(d, d, r, true) + blocks * block + layer_norm(d) +
         projection_parameter_count(d, c.knowledge_dim, r, true) + keys + /*logit_scale*/ 1;
}

// GatedMemoryFusion (fusion.cpp): gate/up 2d -> d, down d -> d, no biases; the full variant adds
// the alpha MLP (1 -> alpha_hidden -> 1, with biases) and alpha_bias.
int64_t fusion(const MemoryConfig& c) {
  const int64_t d = c.hidden_size, r = c.fusion_rank;
  int64_t n = 2 * projection_parameter_count(2 * d, d, r, false) + projection_parameter_count(d, d, r, false);
  if (r == 0) {
    // MemoryLayer leaves FusionOptions::alpha_hidden at its default.
    const int64_t h = FusionOptions{}.alpha_hidden;
    n += projection_parameter_count(1, h, 0, true) + projection_parameter_count(h, 1, 0, true) + /*alpha_bias*/ 1;
  }
  return n;
}

}  // namespace

MemoryParameterCount count_memory_layer_parameters(const MemoryConfig& config) {
  config.validate();
  const int64_t d = config.hidden_size;
  MemoryParameterCount n;
  n.norm = d;
  n.router = router(config);
  // ContentMatcher: proj d x d without bias, log_scale.
  if (config.selection == SelectionMode::kLearned) n.matcher = projection_parameter_count(d, d, 0, false) + 1;
  // torch::nn::Linear(d, 1) with bias.
  if (config.pooling == QueryPooling::kWeightedPrefix) n.pool_score = d + 1;
  if (config.normalize_selected) n.selected_norm = d;
  n.fusion = fusion(config);
  return n;
}

}  // namespace elm::memory
