#include "train/lr_schedule.h"

#include <cmath>

#include "core/error.h"

namespace elm::train {

void validate(const LrSchedule& s) {
  ELM_CHECK(std::isfinite(s.peak) && s.peak > 0, "lr_schedule.peak must be a finite value > 0, got ", s.peak);
  ELM_CHECK(s.total_steps >= 1, "lr_schedule.total_steps must be >= 1, got ", s.total_steps);
  ELM_CHECK(s.warmup_steps >= 0 && s.warmup_steps <= s.total_steps,
            "lr_schedule.warmup_steps must be in [0, total_steps=", s.total_steps, "], got ", s.warmup_steps);
  ELM_CHECK(std::isfinite(s.min_lr_ratio) && s.min_lr_ratio >= 0 && s.min_lr_ratio <= 1,
            "lr_schedule.min_lr_ratio must be in [0, 1], got ", s.min_lr_ratio);
}

double learning_rate_at(std::int64_t step, const LrSchedule& s) {
  validate(s);
  ELM_CHECK(step >= 0, "learning_rate_at: step must be >= 0, got ", step);
  if (step < s.warmup_steps) {
    return s.peak * static_cast<double>(step + 1) / static_cast<double>(s.warmup_steps);
  }
  if (step >= s.total_steps) return s.peak * s.min_lr_ratio;
  const double decay_steps = static_cast<double>(s.total_steps - s.warmup_steps);  // > 0 here
  const double progress = static_cast<double>(step - s.warmup_steps) / decay_steps;  // [0, 1)
  const double pi = std::acos(-1.0);
  const double cosine = 0.5 * (1.0 + std::cos(pi * progress));
  return s.peak * (s.min_lr_ratio + (1.0 - s.min_lr_ratio) * cosine);
}

}  // namespace elm::train
