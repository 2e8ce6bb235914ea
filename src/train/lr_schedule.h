#pragma once
// The learning-rate schedule: linear warmup from 0 to `peak` over `warmup_steps`, then cosine
// decay from `peak` to `min_lr_ratio * peak` at `total_steps`, constant afterwards.
// See docs/training.md.
#include <cstdint>

namespace elm::train {

struct LrSchedule {
  double peak = 1e-3;            // the learning rate reached at the end of warmup; > 0
  std::int64_t warmup_steps = 0;  // >= 0, <= total_steps
  std::int64_t total_steps = 1;   // >= 1
  double min_lr_ratio = 0.1;     // floor as a fraction of peak, in [0, 1]
};

// Throws elm::Error naming the offending field (lr_schedule.peak, ...warmup_steps,
// ...total_steps, ...min_lr_ratio) when the schedule is invalid.
void validate(const LrSchedule& s);

// The learning rate for optimizer step `step` (0-based; the rate used for the step that makes
// `step` steps done -> `step + 1`). With W = warmup_steps, T = total_steps, m = min_lr_ratio:
//   step <  W:          peak * (step + 1) / W
//   W <= step < T:      peak * (m + (1 - m) * 0.5 * (1 + cos(pi * (step - W) / (T - W))))
//   step >= T:          peak * m
// Validates the schedule; a negative step is an error.
double learning_rate_at(std::int64_t step, const LrSchedule& s);

}  // namespace elm::train
