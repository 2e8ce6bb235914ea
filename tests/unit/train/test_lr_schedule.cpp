// The learning-rate schedule: linear warmup, the peak, the cosine midpoint, the floor, monotonic
// decay, and errors that name the bad field.
#include <cmath>

#include <gtest/gtest.h>

#include "support/assertions.h"
#include "train/lr_schedule.h"

namespace elm::train {
namespace {

LrSchedule sched(double peak = 1e-3, int64_t warmup = 10, int64_t total = 110, double min_ratio = 0.1) {
  LrSchedule s;
  s.peak = peak;
  s.warmup_steps = warmup;
  s.total_steps = total;
  s.min_lr_ratio = min_ratio;
  return s;
}

TEST(LrSchedule, WarmupIsLinearFromPeakOverWarmup) {
  const auto s = sched();
  EXPECT_DOUBLE_EQ(learning_rate_at(0, s), 1e-4);
  EXPECT_DOUBLE_EQ(learning_rate_at(4, s), 5e-4);
  EXPECT_DOUBLE_EQ(learning_rate_at(9, s), 1e-3);  // last warmup step reaches the peak
  for (int64_t i = 1; i < 10; ++i) EXPECT_GT(learning_rate_at(i, s), learning_rate_at(i - 1, s));
}

TEST(LrSchedule, PeakAtEndOfWarmupAndCosineMidpoint) {
  const auto s = sched();
  EXPECT_DOUBLE_EQ(learning_rate_at(10, s), 1e-3);
  // midpoint of the decay (50 of 100 decay steps): halfway between peak and floor
  EXPECT_NEAR(learning_rate_at(60, s), 1e-3 * (0.1 + 0.9 * 0.5), 1e-15);
  // a quarter in: cos(pi/4)
  EXPECT_NEAR(learning_rate_at(35, s), 1e-3 * (0.1 + 0.9 * 0.5 * (1 + std::cos(std::acos(-1.0) / 4))), 1e-15);
}

TEST(LrSchedule, FloorAfterTotalAndMonotonicDecay) {
  const auto s = sched();
  EXPECT_DOUBLE_EQ(learning_rate_at(110, s), 1e-4);
  EXPECT_DOUBLE_EQ(learning_rate_at(1000000, s), 1e-4);
  for (int64_t i = 11; i <= 120; ++i) {
    EXPECT_LE(learning_rate_at(i, s), learning_rate_at(i - 1, s)) << "step " << i;
    EXPECT_GE(learning_rate_at(i, s), 1e-4 - 1e-18) << "step " << i;
  }
  EXPECT_GT(learning_rate_at(109, s), 1e-4);  // approaches the floor from above
}

TEST(LrSchedule, NoWarmupStartsAtPeakAndZeroFloorReachesZero) {
  const auto s = sched(2.0, 0, 4, 0.0);
  EXPECT_DOUBLE_EQ(learning_rate_at(0, s), 2.0);
  EXPECT_NEAR(learning_rate_at(2, s), 1.0, 1e-15);
  EXPECT_DOUBLE_EQ(learning_rate_at(4, s), 0.0);
}

TEST(LrSchedule, WarmupEqualToTotalHoldsTheFloorAfterwards) {
  const auto s = sched(1.0, 5, 5, 0.5);
  EXPECT_DOUBLE_EQ(learning_rate_at(4, s), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate_at(5, s), 0.5);
}

TEST(LrSchedule, BadInputNamesTheField) {
  using elm::testing::error_of;
  EXPECT_CONTAINS(error_of([] { learning_rate_at(0, sched(0.0)); }), "lr_schedule.peak");
  EXPECT_CONTAINS(error_of([] { learning_rate_at(0, sched(NAN)); }), "lr_schedule.peak");
  EXPECT_CONTAINS(error_of([] { learning_rate_at(0, sched(1e-3, -1)); }), "lr_schedule.warmup_steps");
  EXPECT_CONTAINS(error_of([] { learning_rate_at(0, sched(1e-3, 20, 10)); }), "lr_schedule.warmup_steps");
  EXPECT_CONTAINS(error_of([] { learning_rate_at(0, sched(1e-3, 0, 0)); }), "lr_schedule.total_steps");
  EXPECT_CONTAINS(error_of([] { learning_rate_at(0, sched(1e-3, 1, 10, 1.5)); }), "lr_schedule.min_lr_ratio");
  EXPECT_CONTAINS(error_of([] { learning_rate_at(0, sched(1e-3, 1, 10, -0.1)); }), "lr_schedule.min_lr_ratio");
  EXPECT_CONTAINS(error_of([] { learning_rate_at(-1, sched()); }), "step");
  EXPECT_NO_THROW(validate(sched()));
}

}  // namespace
}  // namespace elm::train
