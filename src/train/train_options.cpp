#include "train/train_options.h"

#include "core/config.h"
#include "core/error.h"

namespace elm::train {

TrainOptions TrainOptions::from_config(const Config& c) {
  TrainOptions o;
  o.stage = parse_stage(c.get_string("training.stage"));
  o.batch_size = c.get_int("training.batch_size");
  o.grad_accum_steps = c.get_int("training.grad_accum_steps");
  o.epochs = c.get_int("training.epochs");
  o.max_steps = c.get_int("training.max_steps");
  o.adamw.lr = c.get_float("training.learning_rate");
  o.adamw.weight_decay = c.get_float("training.weight_decay");
  o.adamw.beta1 = c.get_float("training.adam_beta1");
  o.adamw.beta2 = c.get_float("training.adam_beta2");
  o.max_grad_norm = c.get_float("training.max_grad_norm");
  o.warmup_ratio = c.get_float("training.warmup_ratio");
  o.min_lr_ratio = c.get_float("training.min_lr_ratio");
  o.weights.ce = c.get_float("training.ce_weight");
  o.weights.similarity = c.get_float("training.similarity_weight");
  o.weights.diversity = c.get_float("training.diversity_weight");
  o.weights.router = c.get_float("training.router_weight");
  o.weights.router_temperature = c.get_float("training.router_temperature");
  o.init_from = c.get_string("training.init_from");
  o.log_interval = c.get_int("training.log_interval");
  o.exit_duration_minutes = c.get_float("training.exit_duration_minutes");
  o.backbone_out = c.get_string("training.backbone_out");
  o.train_embeddings = c.get_bool("training.train_embeddings");
  o.backbone_layers = c.get_string("training.backbone_layers");
  o.seed = static_cast<uint64_t>(c.get_int("runtime.seed"));
  validate(o.adamw);
  return o;
}

int64_t TrainOptions::total_steps(int64_t batches_per_epoch) const {
  if (max_steps > 0) return max_steps;
  ELM_CHECK(batches_per_epoch >= 1, "the training data gives no batch");
  const int64_t micro = epochs * batches_per_epoch;
  return std::max<int64_t>(1, (micro + grad_accum_steps - 1) / grad_accum_steps);
}

}  // namespace elm::train
