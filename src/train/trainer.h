#pragma once
// `explicitlm train`: one training run of one stage (docs/training.md).
//
//   data -> DataLoader -> micro-batches (with per-example bank overrides) -> step_losses ->
//   backward (scaled by 1/grad_accum_steps) -> clip -> AdamW at the warmup+cosine rate ->
//   metrics (RUN/metrics.jsonl), progress, checkpoints (RUN/checkpoints) -> final evaluation.
//
// Randomness is a function of (runtime.seed, step) and each row's place in the global batch: the
// memory layers draw every row's Gumbel noise and dropout masks from the row's own seed
// (data_parallel.h row_seed), so a resumed run continues exactly as the uninterrupted one would,
// on any number of data-parallel ranks.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "text/tokenizer.h"

namespace elm {
class Config;
}
namespace elm::dist {
class ProcessGrid;
}

namespace elm::train {

struct TrainResult {
  int64_t steps = 0;         // optimizer steps done (including resumed ones)
  int64_t resumed_from = 0;  // step the run resumed from (0 = fresh)
  double first_loss = 0;     // mean loss of the first logged interval of this process
  double last_loss = 0;      // mean loss of the last logged interval
  std::string checkpoint;    // the last checkpoint written
  std::string backbone_dir;  // backbone stage: the exported model directory
  nlohmann::json eval;       // the final evaluation line (kind "eval"), null when nothing was evaluated
  double wall_seconds = 0;
  // Why the run stopped before its last step, after saving: "signal" or "time_limit"; "" = it
  // finished (stop_request.h).
  std::string stopped;
};

// Runs the stage the config names. run_dir must exist (the caller prepared it: config and logs).
// grid: the pp x dp process grid (null = one process). Collective over its world: every rank
// calls this with the same config (data_parallel.h, pipeline_step.h); world rank 0 writes the
// metrics, checkpoints and exports.
TrainResult run_training(const Config& config, const std::string& run_dir, const text::Tokenizer& tokenizer,
                         dist::ProcessGrid* grid = nullptr);

}  // namespace elm::train
