#pragma once
// The losses of one training micro-batch, per stage (ARCHITECTURE 3.7, docs/training.md):
//   router:   router soft-label loss at each row's query position
//   fusion:   ce_weight * CE                                   (+ router_weight * router loss)
//   joint:    ce_weight * CE + sim * similarity + div * diversity (+ router_weight * router loss)
//   backbone: CE of the backbone alone (no memory)
// Every part is a mean over its own items (LossTerm); under data parallelism the means are taken
// over the whole global micro-batch, so N ranks compute the gradient one process would.
// CE is computed only at the positions that carry a target: logits are [P, V] for P loss tokens,
// never [B, T, V] (the vocabulary is 151,936 wide).
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "dist/communicator.h"
#include "memory/explicit_lm.h"
#include "model/qwen3_model.h"
#include "train/data_batch.h"
#include "train/stage.h"

namespace elm::train {

// One mean in a stage's loss: `mean` averages this rank's `count` items (loss tokens, token pairs,
// queries); the global batch's value of the term is sum over ranks of count * mean, over the sum
// of counts.
struct LossTerm {
  std::string name;     // "ce", "similarity", "diversity", "router"
  torch::Tensor mean;   // scalar, with gradient (0 when count is 0)
  double weight = 1.0;  // its coefficient in the total
  int64_t count = 0;
};

// How one process's micro-batch joins the global micro-batch under data parallelism. Every rank
// of `group` calls the step-loss function the same number of times, in the same order: each call
// sums the loss denominators and metric numerators over the group (one all-reduce of a few
// doubles). A rank with no rows in a micro-batch (the short last batch of an epoch) still has to
// take part: it passes a stand-in batch (any real rows) with `placeholder` set, which counts for
// nothing and contributes zero gradient.
struct GlobalBatch {
  dist::Communicator* group = nullptr;  // null (or a group of 1): this process holds the whole micro-batch
  bool placeholder = false;
  int ranks() const { return group ? group->size() : 1; }
};

struct StepLosses {
  // This rank's share of the global loss: the mean of its gradients over the ranks is the
  // gradient of the global micro-batch's loss (one process: the loss itself). Scalar, with gradient.
  torch::Tensor total;
  std::vector<LossTerm> terms;
  // Values of the global micro-batch (the same on every rank), detached; NaN when the stage does
  // not compute them.
  double loss = std::numeric_limits<double>::quiet_NaN();  // the total's value
  double ce = std::numeric_limits<double>::quiet_NaN();
  double similarity = std::numeric_limits<double>::quiet_NaN();
  double diversity = std::numeric_limits<double>::quiet_NaN();
  double router = std::numeric_limits<double>::quiet_NaN();
  int64_t loss_tokens = 0;  // positions scored by CE
  int64_t tokens = 0;       // real tokens
  int64_t rows = 0;         // examples
  // Memory stages, at each row's query position (mean over memory layers): alpha, and the fraction
  // of rows whose selected entry / router candidates contain the row's target entry (NaN without targets).
  double alpha = std::numeric_limits<double>::quiet_NaN();
  double selection_hit = std::numeric_limits<double>::quiet_NaN();
  double router_recall = std::numeric_limits<double>::quiet_NaN();
  std::vector<memory::MemoryLayerOutput> layers;  // memory stages: this rank's per-layer outputs (statistics)
};

// Mean cross-entropy of the logits at the positions where targets != -100. hidden [B, T, H] is the
// backbone's final-normed hidden state. *count (optional) receives the number of such positions. With
// none, the loss is a zero that still carries the graph.
torch::Tensor masked_lm_loss(const model::Qwen3Model& model, const torch::Tensor& hidden, const torch::Tensor& targets,
                             int64_t* count = nullptr);

// The query position of each row for router supervision and recall: the position whose logits
// predict the first target token (qa records: the last prompt token), else the last real token. [B] int64.
torch::Tensor query_positions(const Batch& batch);

// Rows of the batch whose best-scored target names a bank entry (0 without targets).
int64_t named_rows(const Batch& batch);

// What one memory layer contributes at each row's query position (query_positions): the router
// soft-label loss (mean over the rows that name targets; `zero` when none do), their number, and
// sums over rows of alpha, of "the selected entry is the target" and of "the target is among the
// candidates".
struct LayerQueryTerms {
  torch::Tensor router;
  int64_t queries = 0;
  double alpha = 0, hit = 0, recall = 0;
};
LayerQueryTerms layer_query_terms(const memory::MemoryLayerOutput& layer, const Batch& batch, const torch::Tensor& pos,
                                  double temperature, const torch::Tensor& zero);

// Memory stages (router, fusion, joint). The bank the model reads is whatever lm currently has
// (the trainer installs per-batch overrides before calling this). row_seeds (optional, one per
// row) make the memory layers' random draws a function of each row alone (explicit_lm.h).
StepLosses memory_step_losses(memory::ExplicitLM& lm, const Batch& batch, Stage stage, const LossWeights& weights,
                              const GlobalBatch& global = {}, const std::vector<uint64_t>& row_seeds = {});

// Backbone stage: next-token CE of the backbone alone.
StepLosses backbone_step_losses(const model::Qwen3Model& model, const Batch& batch, const GlobalBatch& global = {});

}  // namespace elm::train
