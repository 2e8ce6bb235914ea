#include "dist/pipeline_schedule.h"

#include <algorithm>
#include <limits>
#include <set>

#include "core/error.h"

namespace elm::dist {

ScheduleKind parse_schedule(const std::string& text) {
  if (text == "gpipe") return ScheduleKind::gpipe;
  if (text == "1f1b") return ScheduleKind::one_f_one_b;
  fail("parallel.schedule = \"", text, "\" must be one of: gpipe, 1f1b");
}

const char* schedule_name(ScheduleKind kind) { return kind == ScheduleKind::gpipe ? "gpipe" : "1f1b"; }

std::vector<PipelineAction> stage_actions(ScheduleKind kind, int stages, int stage, int microbatches) {
  ELM_CHECK(stages >= 1 && stage >= 0 && stage < stages, "pipeline schedule: stage ", stage, " of ", stages);
  ELM_CHECK(microbatches >= 1, "pipeline schedule: parallel.microbatches = ", microbatches, " must be >= 1");
  std::vector<PipelineAction> out;
  out.reserve(2 * static_cast<size_t>(microbatches));
  if (kind == ScheduleKind::gpipe) {
    for (int i = 0; i < microbatches; ++i) out.push_back({PipelineAction::forward, i});
    for (int i = 0; i < microbatches; ++i) out.push_back({PipelineAction::backward, i});
    return out;
  }
  const int warmup = std::min(stages - stage - 1, microbatches);
  int next_forward = 0, next_backward = 0;
  for (; next_forward < warmup; ++next_forward) out.push_back({PipelineAction::forward, next_forward});
  while (next_forward < microbatches) {
    out.push_back({PipelineAction::forward, next_forward++});
    out.push_back({PipelineAction::backward, next_backward++});
  }
  while (next_backward < microbatches) out.push_back({PipelineAction::backward, next_backward++});
  return out;
}

int peak_in_flight(const std::vector<PipelineAction>& actions) {
  int live = 0, peak = 0;
  for (const auto& a : actions) {
    live += a.kind == PipelineAction::forward ? 1 : -1;
    peak = std::max(peak, live);
  }
  return peak;
}

ScheduleSimulation simulate(ScheduleKind kind, int stages, int microbatches, double forward_cost,
                            double backward_cost) {
  std::vector<std::vector<PipelineAction>> plan;
  for (int s = 0; s < stages; ++s) plan.push_back(stage_actions(kind, stages, s, microbatches));
  // done_f[s][i] / done_b[s][i]: when that pass finished (its send is posted then); infinity = not yet.
  const double never = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> done_f(stages, std::vector<double>(microbatches, never));
  std::vector<std::vector<double>> done_b = done_f;
  std::vector<size_t> next(stages, 0);
  std::vector<double> clock(stages, 0.0);
  double busy = 0;
  // Repeatedly run any stage whose next action has its input: a fixed point is reached when all
  // ran (completed) or none can (a stall, which real blocking receives would turn into a deadlock).
  bool progress = true;
  while (progress) {
    progress = false;
    for (int s = 0; s < stages; ++s) {
      while (next[s] < plan[s].size()) {
        const PipelineAction a = plan[s][next[s]];
        double ready = 0;
        if (a.kind == PipelineAction::forward) {
          ready = s == 0 ? 0.0 : done_f[s - 1][a.microbatch];
        } else {
          // The loss is computed on the last stage, whose backward needs only its own forward.
          ready = s == stages - 1 ? done_f[s][a.microbatch] : done_b[s + 1][a.microbatch];
        }
        if (ready == never) break;
        const double cost = a.kind == PipelineAction::forward ? forward_cost : backward_cost;
        clock[s] = std::max(clock[s], ready) + cost;
        busy += cost;
        (a.kind == PipelineAction::forward ? done_f : done_b)[s][a.microbatch] = clock[s];
        ++next[s];
        progress = true;
      }
    }
  }
  ScheduleSimulation sim;
  sim.completed = true;
  for (int s = 0; s < stages; ++s) sim.completed = sim.completed && next[s] == plan[s].size();
  sim.makespan = *std::max_element(clock.begin(), clock.end());
  sim.bubble = sim.makespan > 0 ? 1.0 - busy / (static_cast<double>(stages) * sim.makespan) : 0.0;
  return sim;
}

double theoretical_bubble(int stages, int microbatches) {
  return static_cast<double>(stages - 1) / static_cast<double>(microbatches + stages - 1);
}

}  // namespace elm::dist
