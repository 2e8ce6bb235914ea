#pragma once
// The run directory (run.dir): where one run keeps its resolved config and per-rank logs.
//
//   RUN/config.resolved.toml   every key with its value (written by rank 0, atomically)
//   RUN/logs/rank<R>.log       one log file per rank
#include <string>

#include "core/config.h"
#include "core/logging.h"

namespace elm {

struct RunDir {
  std::string root;         // "" when run.dir is empty (no run directory)
  std::string logs_dir;     // ROOT/logs
  std::string log_file;     // ROOT/logs/rank<R>.log
  std::string config_file;  // ROOT/config.resolved.toml
  bool enabled() const { return !root.empty(); }
};

// When run.dir is set: creates ROOT and ROOT/logs (existing ones are reused, e.g. on resume),
// and on rank 0 writes ROOT/config.resolved.toml with `command`, run.name, the version and the
// time in its header comment. `rank` -1 means log::rank(). Returns an empty RunDir when run.dir
// is empty. Throws elm::Error naming the path when a directory cannot be created or written.
RunDir prepare_run_dir(const Config& config, const std::string& command, int rank = -1);

// Logging options from logging.level, logging.file_level and logging.all_ranks_console, with the
// run's log file (none when `run` is empty). The rank is left to detection / log::set_rank.
log::Options logging_options(const Config& config, const RunDir& run = RunDir{});

}  // namespace elm
