#pragma once
// The losses of one training micro-batch, per stage (ARCHITECTURE 3.7, docs/training.md):
//   router:   router soft-label loss at each row's query position
//   fusion:   ce_weight * CE                                   (+ router_weight * router loss)
//   joint:    ce_weight * CE + sim * similarity + div * diversity (+ router_weight * router loss)
//   backbone: CE of the backbone alone (no memory)
// CE is computed only at the positions that carry a target: logits are [P, V] for P loss tokens,
// never [B, T, V] (the vocabulary is 151,936 wide).
#include <cstdint>
#include <limits>
#include <vector>

#include <torch/torch.h>

#include "memory/explicit_lm.h"
#include "model/qwen3_model.h"
#include "train/data_batch.h"
#include "train/stage.h"

namespace elm::train {

struct StepLosses {
  torch::Tensor total;  // scalar, with gradient
  // Detached parts (NaN when the stage does not compute them).
  double ce = std::numeric_limits<double>::quiet_NaN();
  double similarity = std::numeric_limits<double>::quiet_NaN();
  double diversity = std::numeric_limits<double>::quiet_NaN();
  double router = std::numeric_limits<double>::quiet_NaN();
  int64_t loss_tokens = 0;  // positions scored by CE
  int64_t tokens = 0;       // real tokens in the batch
  // Memory stages, at each row's query position (mean over memory layers): alpha, and the fraction
  // of rows whose selected entry / router candidates contain the row's target entry (NaN without targets).
  double alpha = std::numeric_limits<double>::quiet_NaN();
  double selection_hit = std::numeric_limits<double>::quiet_NaN();
  double router_recall = std::numeric_limits<double>::quiet_NaN();
  std::vector<memory::MemoryLayerOutput> layers;  // memory stages: per-layer outputs (for statistics)
};

// Mean cross-entropy of the logits at the positions where targets != -100. hidden [B, T, H] is the
// backbone's final-normed hidden state. *count (optional) receives the number of such positions. With
// none, the loss is a zero that still carries the graph.
torch::Tensor masked_lm_loss(const model::Qwen3Model& model, const torch::Tensor& hidden, const torch::Tensor& targets,
                             int64_t* count = nullptr);

// The query position of each row for router supervision and recall: the position whose logits
// predict the first target token (qa records: the last prompt token), else the last real token. [B] int64.
torch::Tensor query_positions(const Batch& batch);

// Memory stages (router, fusion, joint). The bank the model reads is whatever lm currently has
// (the trainer installs per-batch overrides before calling this).
StepLosses memory_step_losses(memory::ExplicitLM& lm, const Batch& batch, Stage stage, const LossWeights& weights);

// Backbone stage: next-token CE of the backbone alone.
StepLosses backbone_step_losses(const model::Qwen3Model& model, const Batch& batch);

}  // namespace elm::train
