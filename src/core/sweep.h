#pragma once
// A sweep: a grid of config overrides expanded into training runs (docs/slurm.md, "Sweeps").
// A sweep file is TOML:
//
//   [sweep]
//   name = "tiny-lr"                    # default: the file name without .toml
//   base = ["configs/tiny.toml"]        # config files every run loads, in order (a string or a list)
//   out_dir = "runs/sweep-tiny"         # default: runs/<name>; run i trains in out_dir/<run name>
//   [fixed]                             # overrides for every run
//   "training.max_steps" = 40
//   [grid]                              # every combination of these values is one run
//   "training.learning_rate" = [1e-3, 2e-3]
//   "model.dropout" = [0.0, 0.1]
//
// Keys are written quoted ("section.key") or as TOML dotted keys (training.max_steps = 40). The
// grid keys vary in the order of their names (TOML tables are sorted), the last one fastest, so
// the same file always gives the same runs in the same order. A run is named by its grid values,
// "dropout-0.1_learning_rate-0.002" (the key without its section unless two grid keys share it).
// Every run's config is resolved when the sweep is loaded: an unknown key, a value of the wrong
// type or outside its constraint is an error naming the sweep file and line before anything runs.
#include <string>
#include <utility>
#include <vector>

#include "core/config_schema.h"

namespace elm {

struct SweepRun {
  int index = 0;
  std::string name;     // from the grid values; unique within the sweep
  std::string run_dir;  // out_dir/name
  // (key, value as written in the sweep file: strings unquoted) of the grid keys, in grid order.
  std::vector<std::pair<std::string, std::string>> grid_values;
  // "section.key=<TOML value>" for the fixed keys, then this run's grid values.
  std::vector<std::string> overrides;
};

struct SweepPlan {
  std::string path;  // the sweep file
  std::string name;
  std::vector<std::string> base_configs;
  std::string out_dir;
  std::vector<std::string> grid_keys;
  std::vector<SweepRun> runs;

  // The arguments of `explicitlm train` for a run: --config FILE for each base config, the
  // overrides, run.dir=<run_dir> and run.name=<sweep name>/<run name>.
  std::vector<std::string> train_args(const SweepRun& run) const;
};

// Reads and validates a sweep file (see above). Errors (elm::Error) name PATH:LINE and the key.
SweepPlan load_sweep(const std::string& path, const ConfigSchema& schema = ConfigSchema::builtin());

// Characters of a value that may appear in a run's directory name: letters, digits, '.', '+' and
// '-' stay, anything else becomes '_'.
std::string sweep_name_part(const std::string& text);

}  // namespace elm
