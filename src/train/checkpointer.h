#pragma once
// The checkpoint directory of a run: DIR/step-<N>.h5 files (N zero-padded to 8 digits), a
// `latest` text file naming the newest one, pruning to the newest keep_latest_k, and the
// resolution of checkpoint.resume / training.init_from. File format: checkpoint.h. Semantics and
// examples: docs/checkpoints.md.
//
// Only complete checkpoints (with the `complete` marker) are ever listed, pointed to or resumed
// from; an interrupted write leaves a *.h5.tmp (removed by the next save) and never a step file.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "train/checkpoint.h"

namespace elm::train {

struct CheckpointOptions {
  std::string dir;              // checkpoint directory; "" = none (save() is an error)
  std::int64_t interval = 0;    // optimizer steps between checkpoints; 0 = only at the end
  std::int64_t keep_latest_k = 2;  // newest complete checkpoints kept; >= 2
  std::string resume = "auto";  // auto | none | <step number> | <.h5 file> | <directory>
  // Parts of a checkpoint a resume does not load (torchtitan's exclude_from_loading): "cursor"
  // (the data starts from the beginning), "optimizer" (fresh AdamW moments), "rng", "bank" (the
  // configured bank instead of the checkpoint's). Anything else is an error.
  std::vector<std::string> exclude_from_loading;
  // Recompute every checksum of the checkpoint chosen for a resume before loading it; with
  // resume=auto a damaged one is skipped (a warning) for the next older complete one.
  bool verify = true;

  // From checkpoint.interval, checkpoint.keep_latest_k, checkpoint.resume and checkpoint.dir;
  // an empty checkpoint.dir means RUN_DIR/checkpoints, or no directory when run_dir is empty too.
  static CheckpointOptions from_config(const Config& config, const std::string& run_dir);

  bool excluded(const std::string& part) const;
};

class Checkpointer {
 public:
  // Throws elm::Error for keep_latest_k < 2 or interval < 0 (naming the checkpoint.* key).
  explicit Checkpointer(CheckpointOptions options);

  const CheckpointOptions& options() const { return options_; }
  // interval > 0 && step > 0 && step % interval == 0.
  bool due(std::int64_t step) const;

  // Writes DIR/step-<N>.h5 (N = state.step; DIR is created), then atomically rewrites DIR/latest
  // to name it, then deletes every stale *.h5.tmp and the oldest complete checkpoints of steps
  // <= N beyond keep_latest_k (so the one just written is always kept; higher steps, left by a
  // continuation abandoned through resuming from an earlier step, are not touched). Returns the
  // path written. Throws elm::Error when no directory is configured or a write fails (the previous
  // checkpoints and `latest` stay valid).
  //
  // With a communicator every rank calls it and writes its part (write_checkpoint_collective);
  // rank 0 creates the directory, publishes `latest` and prunes; every rank returns the path.
  std::string save(const TrainingState& state, MPI_Comm comm = MPI_COMM_NULL);
  // What the last save measured on this rank.
  const CheckpointWriteStats& last_write() const { return last_write_; }

  // Complete checkpoints in DIR named step-<N>.h5, oldest first (by N). Empty when DIR is absent.
  std::vector<std::string> list() const;

  // Resolves options.resume:
  //   "none"        -> nullopt
  //   "auto"        -> the newest complete checkpoint of DIR (the `latest` pointer when it names
  //                    a complete checkpoint, else the highest step), or nullopt when there is none;
  //                    with `verify`, one whose checksums fail is skipped (a warning naming the
  //                    damage) for the next older one
  //   "<N>" digits  -> DIR/step-<N>.h5; error (listing the available steps) if absent or incomplete
  //   a file        -> that file (error if it does not exist)
  //   a directory   -> its newest complete checkpoint, or that of its checkpoints/ subdirectory
  //                    (a run directory); error when there is none
  // An explicit choice (step, file) that fails verification is an error, never a fresh start.
  std::optional<std::string> resolve_resume() const;

 private:
  CheckpointOptions options_;
  CheckpointWriteStats last_write_;
};

// DIR/step-<N>.h5 with N zero-padded to 8 digits.
std::string checkpoint_file_name(std::int64_t step);

// For training.init_from: a .h5 file (returned when it exists), a checkpoint directory, or a run
// directory (RUN/checkpoints is used) -> the newest complete checkpoint there. Throws elm::Error
// naming the path when it does not exist or holds no complete checkpoint.
std::string resolve_checkpoint_path(const std::string& file_or_dir);

}  // namespace elm::train
