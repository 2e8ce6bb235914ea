#pragma once
// The [training] keys as one struct (docs/config.md, docs/training.md).
#include <cstdint>
#include <string>

#include "train/optimizer.h"
#include "train/stage.h"

namespace elm {
class Config;
}

namespace elm::train {

struct TrainOptions {
  Stage stage = Stage::joint;
  int64_t batch_size = 8;
  int64_t grad_accum_steps = 1;
  int64_t epochs = 1;
  int64_t max_steps = 0;  // 0 = from epochs
  AdamWConfig adamw;
  double max_grad_norm = 1.0;  // 0 = no clipping
  double warmup_ratio = 0.05;
  double min_lr_ratio = 0.1;
  LossWeights weights;
  std::string init_from;
  int64_t log_interval = 10;
  double exit_duration_minutes = 0;  // save and stop once the run has taken this long; 0 = never
  std::string backbone_out;
  bool train_embeddings = true;  // backbone stage
  std::string backbone_layers = "all";  // backbone stage: decoder layers that train
  uint64_t seed = 42;

  static TrainOptions from_config(const Config& config);

  // Optimizer steps of the run: max_steps, else ceil(epochs * batches_per_epoch / grad_accum_steps).
  int64_t total_steps(int64_t batches_per_epoch) const;
};

}  // namespace elm::train
