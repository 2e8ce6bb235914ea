#pragma once
// Splitting the backbone into pipeline stages (ARCHITECTURE 4): contiguous decoder layers, each with
// its memory layer, the embedding on the first stage, the final norm and lm_head on the last,
// balanced by an estimate of each piece's training cost. Pure arithmetic: the trainer and
// `explicitlm plan` compute the same partition from the config alone.
//
//   auto costs = estimate_stage_costs(backbone_config, memory_layers, seq_len);
//   auto part = balanced_partition(costs, /*stages=*/4);
//   part.stage_of_layer(17);  // which stage runs decoder layer 17
#include <cstdint>
#include <string>
#include <vector>

#include "model/qwen3_config.h"

namespace elm::dist {

// Relative training cost (forward + backward FLOPs per token) of each piece of the model.
struct PipelineCosts {
  std::vector<double> layer;  // decoder layer i with its memory layer (when it has one)
  double embedding = 0;       // first stage
  double head = 0;            // final norm + lm_head + loss, last stage
};

// A rough model: a frozen decoder layer costs 2x its forward (the backward computes input
// gradients only), a memory layer 3x (its weights train); lm_head runs at the fraction
// `logit_fraction` of the positions that carry a loss (1 for pretraining text, a few percent for
// question answering). Enough to balance stages; `explicitlm plan` prints it.
PipelineCosts estimate_stage_costs(const model::Qwen3Config& backbone, const std::vector<int64_t>& memory_layers,
                                   int64_t hidden_size, int64_t seq_len, double logit_fraction = 1.0);

struct StageSpan {
  int64_t first_layer = 0;  // decoder layers [first_layer, end_layer)
  int64_t end_layer = 0;
  bool embedding = false;
  bool head = false;
  double cost = 0;
  int64_t layers() const { return end_layer - first_layer; }
};

struct PipelinePartition {
  std::vector<StageSpan> stages;

  int size() const { return static_cast<int>(stages.size()); }
  int stage_of_layer(int64_t layer) const;  // elm::Error when no stage runs it
  // "stage 0: layers 0-13 + embedding (cost 31.2%) | stage 1: ..."
  std::string describe() const;
};

// Contiguous split minimising the most expensive stage (every stage gets at least one layer).
// elm::Error when stages < 1 or there are fewer layers than stages.
PipelinePartition balanced_partition(const PipelineCosts& costs, int stages);

// The split a user wrote (parallel.stage_layers = "10,12,14"): layer counts per stage, which must
// be `stages` positive numbers summing to the layer count (elm::Error naming the key otherwise).
PipelinePartition explicit_partition(const PipelineCosts& costs, int stages, const std::string& stage_layers);

// explicit_partition when stage_layers is non-empty, else balanced_partition.
PipelinePartition make_partition(const PipelineCosts& costs, int stages, const std::string& stage_layers);

}  // namespace elm::dist
