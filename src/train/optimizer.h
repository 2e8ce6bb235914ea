#pragma once
// AdamW over a list of named parameters, with what a trainer needs around it: setting the
// learning rate of every param group (driven by lr_schedule.h), gradient accumulation
// bookkeeping, gradient-norm clipping, and the optimizer state as (name, tensor) pairs for
// checkpoints. See docs/training.md.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace elm::train {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct AdamWConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;  // decoupled: p <- p * (1 - lr * weight_decay) before the Adam update
};

// Throws elm::Error naming the field (adamw.lr, adamw.beta1, ...) when out of range.
void validate(const AdamWConfig& c);

// Clips the gradients of `params` in place so that their joint L2 norm is at most `max_norm`
// (torch::nn::utils::clip_grad_norm_: grads are scaled by max_norm / (norm + 1e-6) when that is
// < 1). Parameters without a gradient are ignored. Returns the total norm BEFORE clipping (0 when
// no parameter has a gradient). max_norm must be > 0.
double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

// Gradient accumulation bookkeeping. The trainer runs `accum_steps` micro-batches per optimizer
// step; scaling each micro-batch loss by loss_scale() = 1 / accum_steps before backward() is the
// CALLER's job (so the accumulated gradient is the mean over micro-batches). Typical loop:
//   (loss * acc.loss_scale()).backward();
//   if (acc.micro_step_done()) { opt.clip_grad_norm(c); opt.step(); opt.zero_grad(); }
class GradientAccumulator {
 public:
  explicit GradientAccumulator(std::int64_t accum_steps);  // >= 1, else elm::Error
  std::int64_t accum_steps() const { return accum_steps_; }
  double loss_scale() const { return 1.0 / static_cast<double>(accum_steps_); }
  // Counts one micro-batch backward; true (and the count resets) when accum_steps are done.
  bool micro_step_done();
  // Micro-batches counted since the last optimizer step.
  std::int64_t pending() const { return pending_; }
  void reset() { pending_ = 0; }

 private:
  std::int64_t accum_steps_;
  std::int64_t pending_ = 0;
};

class Optimizer {
 public:
  // Names must be non-empty and unique; tensors defined, floating point, requires_grad. The tensors
  // are shared (not copied): step() updates them in place.
  Optimizer(NamedTensors params, const AdamWConfig& config);
  ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  void zero_grad();  // sets every gradient to undefined (LibTorch's set_to_none behaviour)
  void step();
  // Sets lr on every param group; must be finite and >= 0.
  void set_learning_rate(double lr);
  double learning_rate() const;  // lr of the first param group
  double clip_grad_norm(double max_norm);  // the free function over this optimizer's parameters

  const NamedTensors& named_parameters() const { return params_; }
  std::vector<torch::Tensor> parameters() const;

  // The AdamW state for checkpoints: for every parameter that has state (has been stepped),
  // "<name>.exp_avg", "<name>.exp_avg_sq" (parameter shape and dtype) and "<name>.step" (an int64
  // scalar), in parameter order. Tensors are detached CPU copies.
  NamedTensors export_state() const;
  // Replaces the whole AdamW state with `state` (as export_state writes it). Parameters absent from
  // `state` start fresh. Throws elm::Error for an unknown name, a parameter with only some of its
  // three entries, or a shape mismatch. Does not touch the learning rate: set it from the schedule.
  void import_state(const NamedTensors& state);

  torch::optim::AdamW& adamw() { return *adamw_; }

 private:
  NamedTensors params_;
  std::unique_ptr<torch::optim::AdamW> adamw_;
};

}  // namespace elm::train
