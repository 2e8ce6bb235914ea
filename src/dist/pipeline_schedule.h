#pragma once
// Pipeline schedules (ARCHITECTURE 4): the order in which one stage runs the forward and backward
// passes of m micro-batches. Pure arithmetic, no communication (pipeline_channel.h moves the
// tensors; train/pipeline_step.h runs the actions).
//
//   gpipe: F0 F1 ... F(m-1) B0 B1 ... B(m-1) on every stage; holds m micro-batches of activations.
//   1f1b:  stage s of p runs min(p-s-1, m) warm-up forwards, then alternates one forward and one
//          backward, then drains the remaining backwards; holds at most p-s micro-batches.
// Both take (m + p - 1) forward and backward slots per stage in the ideal timing, so the idle
// fraction (the bubble) is (p-1)/(m+p-1).
//
// Why neither can deadlock (docs/distributed.md): sends never block (they are posted and completed
// at the end of the schedule), so a stage only waits in a receive. Forward i on stage s receives
// what forward i on stage s-1 sent; backward i on stage s receives what backward i on stage s+1
// sent. simulate() below replays a schedule with exactly these rules and reports a stall, and
// the unit tests run it for every (p, m) up to 8 x 16 for both schedules.
#include <string>
#include <vector>

namespace elm::dist {

enum class ScheduleKind { gpipe, one_f_one_b };

// "gpipe" or "1f1b" (elm::Error naming parallel.schedule otherwise).
ScheduleKind parse_schedule(const std::string& text);
const char* schedule_name(ScheduleKind kind);

struct PipelineAction {
  enum Kind { forward, backward };
  Kind kind = forward;
  int microbatch = 0;
};

// Stage `stage` (0-based) of `stages`, `microbatches` >= 1: every micro-batch's forward once, then
// its backward once, in schedule order.
std::vector<PipelineAction> stage_actions(ScheduleKind kind, int stages, int stage, int microbatches);

// The most micro-batches whose activations the stage holds at once under that order.
int peak_in_flight(const std::vector<PipelineAction>& actions);

// Replays all stages' action lists with blocking receives and non-blocking sends, each forward
// taking `forward_cost` and each backward `backward_cost` time units. Returns the makespan, the
// idle fraction averaged over stages (1 - busy / (stages * makespan)) and whether every action ran
// (false: the schedule stalls, i.e. would deadlock).
struct ScheduleSimulation {
  bool completed = false;
  double makespan = 0;
  double bubble = 0;
};
ScheduleSimulation simulate(ScheduleKind kind, int stages, int microbatches, double forward_cost = 1.0,
                            double backward_cost = 2.0);

// (p - 1) / (m + p - 1).
double theoretical_bubble(int stages, int microbatches);

}  // namespace elm::dist
