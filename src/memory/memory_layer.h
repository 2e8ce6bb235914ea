#pragma once
// One memory layer (ARCHITECTURE 3.1-3.6), applied after a decoder layer:
//   h_mem = norm(h); query = pooled h_mem (pooling.h, done by the caller, which owns the state);
//   router(query) -> candidates -> bank rows -> candidate embeddings -> selection -> fusion.
// Submodules (their names are checkpoint names under memory.layers.<i>.): norm, router, fusion,
// and, when configured, matcher (memory.selection = learned), selected_norm
// (memory.normalize_selected) and pool_score (memory.query_pooling = weighted_prefix).
#include <array>
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "memory/bank_reader.h"
#include "memory/fusion.h"
#include "memory/memory_config.h"
#include "memory/rms_norm.h"
#include "memory/router.h"
#include "memory/row_random.h"
#include "memory/selection.h"

namespace elm::memory {

struct MemoryLayerOutput {
  int64_t layer = -1;                 // the decoder layer this memory layer follows
  torch::Tensor hidden;               // [B, T, H] h + alpha * fusion_out (backbone dtype); ExplicitLM clears it
  torch::Tensor alpha;                // [B, T]
  torch::Tensor similarity;           // [B, T] mean cosine of the selected entries (with gradient)
  torch::Tensor candidate_indices;    // [B, T, C] int64 bank entries proposed by the router
  torch::Tensor candidate_scores;     // [B, T, C] router softmax
  torch::Tensor candidate_valid;      // [B, T, C] bool
  torch::Tensor selection_weights;    // [B, T, C]
  torch::Tensor selected_indices;     // [B, T, k] int64 bank entries selected (-1: none valid)
  torch::Tensor token_valid;          // [B, T] bool
  std::array<torch::Tensor, 2> half_logits;  // [B, T, sqrt(N)] router per-half scaled cosines
  torch::Tensor similarity_loss;      // scalar, over valid tokens
  torch::Tensor diversity_loss;       // scalar, over valid tokens and valid candidate pairs
};

struct MemoryStepOptions {
  bool force_zero_alpha = false;
  c10::optional<at::Generator> generator;  // Gumbel noise in training (default generator if unset)
  // One seed per batch row (empty: the generator above and torch::dropout). When set, every draw
  // in training (Gumbel noise, router and fusion dropout) comes from RowRandom(row_seeds,
  // token_valid).scoped(layer), so a row's noise does not depend on the rest of the batch, its
  // position in it or the padding (row_random.h).
  std::vector<uint64_t> row_seeds;
};

class MemoryLayerImpl : public torch::nn::Module {
 public:
  // Initialisation is deterministic for a given generator. frozen_keys: see RouterOptions.
  MemoryLayerImpl(const MemoryConfig& config, int64_t layer, at::Generator init, torch::Tensor frozen_keys = {});

  // h_mem = RMSNorm_mem(h) in float32 (double when the module is double).
  torch::Tensor normalize(const torch::Tensor& h);

  // weighted_prefix pooling: the score of each position, pool_score(h_mem) [B, T] (f32);
  // undefined for the other poolings.
  torch::Tensor pool_scores(const torch::Tensor& h_mem);

  // h [B, T, H]; h_mem = normalize(h); query [B, T, H] (pooled h_mem); token_valid [B, T] bool.
  MemoryLayerOutput forward(const torch::Tensor& h, const torch::Tensor& h_mem, const torch::Tensor& query,
                            const torch::Tensor& token_valid, const BankReader& bank,
                            const torch::Tensor& embedding_table, const MemoryStepOptions& options = {});

  int64_t layer() const { return layer_; }
  const MemoryConfig& config() const { return config_; }

  RMSNorm norm{nullptr};
  MemoryGate router{nullptr};
  ContentMatcher matcher{nullptr};  // memory.selection = learned
  RMSNorm selected_norm{nullptr};   // memory.normalize_selected
  torch::nn::Linear pool_score{nullptr};  // memory.query_pooling = weighted_prefix: Linear(d, 1), near-zero initialised
  GatedMemoryFusion fusion{nullptr};

 private:
  MemoryConfig config_;
  int64_t layer_;
};
TORCH_MODULE(MemoryLayer);

}  // namespace elm::memory
