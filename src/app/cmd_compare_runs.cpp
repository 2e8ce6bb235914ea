// explicitlm compare-runs: the final metrics of several training runs side by side, sorted by one
// metric, with the config keys that differ between them, and PNG charts with one curve per run
// (train/run_comparison.h). tools/compare-runs wraps it.
#include <filesystem>
#include <iostream>
#include <set>

#include <nlohmann/json.hpp>

#include "app/cli_args.h"
#include "app/commands.h"
#include "core/error.h"
#include "train/run_comparison.h"

namespace elm::app {
namespace {

namespace fs = std::filesystem;

// Where the charts go without --out: DIR/compare when every run sits in the same directory DIR
// (a sweep's out_dir), else ./compare-runs.
std::string default_plot_dir(const std::vector<std::string>& dirs) {
  std::set<fs::path> parents;
  for (const auto& d : dirs) parents.insert(fs::absolute(d).lexically_normal().parent_path());
  return parents.size() == 1 ? (*parents.begin() / "compare").string() : std::string("compare-runs");
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

int run_compare_runs(const Args& args_in) {
  ArgParser parser(
      "compare-runs", "RUN_DIR... [--sort METRIC] [--asc | --desc] [--metrics M,...] [--out DIR | --no-plots] [--json] [--skip-missing]",
      "Compares training runs: reads each RUN_DIR/metrics.jsonl and config.resolved.toml and prints a table,\n"
      "one row per run: the config keys whose values differ between the runs, the last train step and the\n"
      "final value of each metric column (\"train/loss\", \"eval/accuracy\": the kind of line, then the field).\n"
      "Rows are sorted by --sort (default train/loss; accuracy, recall, hit_rate, coverage and selection_hit\n"
      "sort descending, everything else ascending); runs without that metric come last. Writes one PNG chart\n"
      "per metric column with one curve per run into --out (default: DIR/compare when every run is in DIR,\n"
      "such as a sweep's out_dir; else ./compare-runs) and prints each path after the table.");
  parser.option("--sort", "METRIC", "sort by this metric (default train/loss)")
      .flag("--asc", "sort ascending whatever the metric")
      .flag("--desc", "sort descending whatever the metric")
      .option("--metrics", "M,...", "metric columns (default: train/loss and every eval/* metric)")
      .option("--out", "DIR", "where the charts go (created)")
      .flag("--no-plots", "print the table only")
      .flag("--skip-missing", "leave out (with a note on stderr) run directories without metrics.jsonl")
      .flag("--json", "one JSON object per run (sorted): run, dir, step, config (differing keys), metrics (all)")
      .examples("  explicitlm compare-runs runs/sweep-tiny/*\n"
                "  explicitlm compare-runs runs/a runs/b --sort eval/accuracy --metrics train/loss,eval/accuracy\n"
                "  explicitlm compare-runs runs/sweep-tiny/* --json --no-plots\n"
                "  tools/compare-runs runs/sweep-tiny/*      # the same, building explicitlm first if needed")
      .notes("A run directory without metrics.jsonl, a malformed line (FILE:LINE) or a metric no run has is an\n"
             "error (exit 1). A run whose config.resolved.toml is missing or unreadable has \"-\" in the config\n"
             "columns.");
  // Run directories come first; options follow.
  Args args = args_in;
  std::vector<std::string> dirs;
  while (!args.empty() && !args[0].empty() && args[0][0] != '-' && args[0].find('=') == std::string::npos) {
    dirs.push_back(args[0]);
    args.erase(args.begin());
  }
  if (!parser.parse(args)) return 0;
  ELM_CHECK(!dirs.empty(), "explicitlm compare-runs: no run directories (usage: explicitlm compare-runs RUN_DIR... "
                           "[options]; see --help)");
  ELM_CHECK(!(parser.has("--asc") && parser.has("--desc")), "explicitlm compare-runs: --asc and --desc exclude each other");
  ELM_CHECK(!(parser.has("--out") && parser.has("--no-plots")), "explicitlm compare-runs: --out and --no-plots exclude each other");

  if (parser.has("--skip-missing")) {
    std::vector<std::string> present;
    for (const auto& d : dirs) {
      if (fs::is_regular_file(fs::path(d) / "metrics.jsonl")) {
        present.push_back(d);
      } else {
        std::cerr << "compare-runs: " << d << ": no metrics.jsonl (the run failed or has not started); left out\n";
      }
    }
    ELM_CHECK(!present.empty(), "explicitlm compare-runs: none of the ", dirs.size(), " run directories has a metrics.jsonl");
    dirs = std::move(present);
  }
  train::CompareOptions options;
  options.sort_metric = parser.get_or("--sort", options.sort_metric);
  options.order = parser.has("--asc") ? "asc" : parser.has("--desc") ? "desc" : "";
  if (auto m = parser.maybe("--metrics")) options.metrics = split_list(*m);
  const train::RunComparison comparison = train::compare_runs(dirs, options);

  for (const auto& r : comparison.runs) {
    if (!r.config_note.empty()) std::cerr << "compare-runs: " << r.dir << ": config not compared: " << r.config_note << "\n";
  }
  if (parser.has("--json")) {
    for (const auto& r : comparison.runs) {
      nlohmann::json config = nlohmann::json::object();
      for (const auto& k : comparison.config_keys) {
        if (auto it = r.config.find(k); it != r.config.end()) config[k] = it->second;
      }
      nlohmann::json line = {{"run", r.name}, {"dir", r.dir}, {"config", config}, {"metrics", r.final}};
      line["step"] = r.last_step < 0 ? nlohmann::json(nullptr) : nlohmann::json(static_cast<int64_t>(r.last_step));
      std::cout << line.dump() << "\n";
    }
  } else {
    std::cout << train::comparison_table(comparison);
  }
  if (!parser.has("--no-plots")) {
    const std::string out = parser.get_or("--out", default_plot_dir(dirs));
    const auto written = train::write_comparison_plots(comparison, out);
    if (!parser.has("--json")) {
      for (const auto& path : written) std::cout << path << "\n";
    } else {
      for (const auto& path : written) std::cerr << "compare-runs: wrote " << path << "\n";
    }
  }
  return 0;
}

}  // namespace elm::app
