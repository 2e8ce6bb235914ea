#pragma once
// Comparing training runs (a sweep's, or any): each run's final metrics from its metrics.jsonl,
// the config keys whose values differ between the runs (from each config.resolved.toml), a table
// sorted by one metric, and PNG charts with one curve per run. `explicitlm compare-runs` and
// tools/compare-runs use it.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "train/metrics_plot.h"

namespace elm::train {

struct RunRecord {
  std::string dir;   // as given
  std::string name;  // the directory's name (its path when two runs share a name)
  // Every numeric field of metrics.jsonl as "kind/key" ("train/loss", "eval/accuracy"): its
  // series and its last value.
  std::vector<MetricSeries> series;
  std::map<std::string, double> final;
  double last_step = -1;  // the largest "step" of a train line (-1: none)
  // The resolved config (key -> TOML text) from config.resolved.toml; empty when it is missing
  // or unreadable (config_note says why).
  std::map<std::string, std::string> config;
  std::string config_note;
};

struct RunComparison {
  std::vector<RunRecord> runs;          // sorted: see compare_runs
  std::vector<std::string> config_keys; // keys whose value differs between runs, schema order
  std::vector<std::string> metrics;     // the metric columns, in order
  std::string sort_metric;
  bool descending = false;
};

struct CompareOptions {
  std::string sort_metric = "train/loss";
  // "" = by the metric's name: descending for accuracy, recall, hit_rate, coverage and
  // selection_hit (higher is better), ascending otherwise; "asc" / "desc" force one.
  std::string order;
  // Metric columns; empty = train/loss followed by every eval/* metric (but eval/questions).
  std::vector<std::string> metrics;
};

// Reads RUN_DIR/metrics.jsonl (an error names the file or FILE:LINE) and config.resolved.toml.
RunRecord read_run(const std::string& dir);

// Reads every run, finds the differing config keys (run.dir and run.name excepted) and sorts the
// runs by options.sort_metric (runs without it last, in the order given; ties keep that order).
// A sort metric or a metric column that no run has is an error listing the metrics there are.
RunComparison compare_runs(const std::vector<std::string>& dirs, const CompareOptions& options);

// A line naming the sort, then the table: rank, run, the differing config keys, step, the metric columns; values with 6
// significant digits, "-" where a run has none. Columns aligned with spaces, one header line.
std::string comparison_table(const RunComparison& comparison);

// One chart per metric column ("train-loss.png", "eval-accuracy.png"), one series per run
// (eval metrics with point markers), written into out_dir (created). Returns the paths written;
// a metric without a point in any run gets no chart.
std::vector<std::string> write_comparison_plots(const RunComparison& comparison, const std::string& out_dir);

}  // namespace elm::train
