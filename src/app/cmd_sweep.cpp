// explicitlm sweep expand: a sweep file (a grid of config overrides, core/sweep.h) as the list of
// training runs it stands for. launch/sweep.sh and slurm/sweep.sbatch run them.
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli_args.h"
#include "app/commands.h"
#include "core/error.h"
#include "core/sweep.h"

namespace elm::app {
namespace {

int run_expand(Args args) {
  const std::string path = take_leading_path(
      args, "explicitlm sweep expand: missing the sweep file (usage: explicitlm sweep expand SWEEP.toml; see --help)");
  ArgParser parser("sweep expand", "SWEEP.toml [--json | --count | --index I]",
                   "Expands a sweep file into its training runs, deterministically: every combination of the\n"
                   "[grid] values (keys in name order, the last varying fastest) on top of the [sweep] base\n"
                   "configs and the [fixed] overrides. Each run trains in [sweep] out_dir/<run name>, named by\n"
                   "its grid values (dropout-0.1_learning_rate-0.002). Every run's config is resolved first: an\n"
                   "unknown key or a bad value is an error naming the sweep file and line. Prints one line per\n"
                   "run: index, name, run directory and grid values.");
  parser.flag("--json", "one JSON object per run: index, name, run_dir, grid, train_args")
      .flag("--count", "print only the number of runs")
      .option("--index", "I", "print the `explicitlm train` arguments of run I, one per line (for job scripts)")
      .examples("  explicitlm sweep expand configs/sweep-tiny.toml\n"
                "  explicitlm sweep expand configs/sweep-tiny.toml --count\n"
                "  mapfile -t args < <(explicitlm sweep expand configs/sweep-tiny.toml --index 1)\n"
                "  explicitlm train \"${args[@]}\"\n"
                "  launch/sweep.sh configs/sweep-tiny.toml            # runs them all (--slurm: a job array)")
      .notes("Sweep file format: docs/slurm.md, \"Sweeps\".");
  if (!parser.parse(args)) return 0;
  ELM_CHECK(parser.config().non_default_lines().empty(),
            "explicitlm sweep expand: config overrides do not belong here; put them in the sweep file's [fixed] "
            "table, or after the sweep file on the launch/sweep.sh command line");
  const int modes = parser.has("--json") + parser.has("--count") + parser.has("--index");
  ELM_CHECK(modes <= 1, "explicitlm sweep expand: --json, --count and --index exclude each other");

  const SweepPlan plan = load_sweep(path);
  if (parser.has("--count")) {
    std::cout << plan.runs.size() << "\n";
    return 0;
  }
  if (parser.has("--index")) {
    const int64_t index = parser.get_int("--index", -1);
    ELM_CHECK(index >= 0 && index < static_cast<int64_t>(plan.runs.size()), "explicitlm sweep expand: --index ", index,
              " is outside [0, ", plan.runs.size(), ") (", path, " has ", plan.runs.size(), " run",
              plan.runs.size() == 1 ? "" : "s", ")");
    for (const auto& a : plan.train_args(plan.runs[static_cast<size_t>(index)])) std::cout << a << "\n";
    return 0;
  }
  for (const SweepRun& run : plan.runs) {
    if (parser.has("--json")) {
      nlohmann::json grid = nlohmann::json::object();
      for (const auto& [k, v] : run.grid_values) grid[k] = v;
      std::cout << nlohmann::json{{"index", run.index},     {"name", run.name}, {"run_dir", run.run_dir},
                                  {"grid", grid},           {"sweep", plan.name},
                                  {"train_args", plan.train_args(run)}}
                       .dump()
                << "\n";
    } else {
      std::cout << run.index << "  " << run.name << "  " << run.run_dir;
      for (const auto& [k, v] : run.grid_values) std::cout << "  " << k << "=" << v;
      std::cout << "\n";
    }
  }
  return 0;
}

const char* kSweepUsage =
    "Usage: explicitlm sweep expand SWEEP.toml [--json | --count | --index I]\n\n"
    "A sweep: a grid of config overrides, one training run per combination (docs/slurm.md, \"Sweeps\").\n\n"
    "  expand   the runs of a sweep file: names, directories, `explicitlm train` arguments\n\n"
    "Examples:\n"
    "  explicitlm sweep expand configs/sweep-tiny.toml\n"
    "  launch/sweep.sh configs/sweep-tiny.toml              # every run, one after another\n"
    "  launch/sweep.sh configs/sweep-tiny.toml --slurm      # a Slurm job array (slurm/sweep.sbatch)\n\n"
    "`explicitlm sweep expand --help` describes it, with examples.\n";

}  // namespace

int run_sweep(const Args& args) { return run_subcommand("sweep", args, kSweepUsage, {{"expand", run_expand}}); }

}  // namespace elm::app
