// explicitlm plot-metrics: PNG charts (loss, accuracy, alpha, coverage, lr) of a run's
// metrics.jsonl, drawn without any plotting library. See docs/training.md "Metrics and plots".
#include <filesystem>
#include <iostream>

#include "app/cli_args.h"
#include "app/commands.h"
#include "app/runtime.h"
#include "core/error.h"
#include "core/logging.h"
#include "train/metrics_plot.h"

namespace elm::app {

int run_plot_metrics(const Args& args_in) {
  namespace fs = std::filesystem;
  ArgParser parser(
      "plot-metrics", "RUN_DIR [--out DIR]",
      "Reads RUN_DIR/metrics.jsonl (RUN_DIR may also be the .jsonl file itself) and writes PNG charts into\n"
      "RUN_DIR/plots: loss.png (keys ending in \"loss\"), accuracy.png (\"accuracy\", \"recall\", \"hit_rate\"),\n"
      "alpha.png (\"alpha\"), coverage.png (\"coverage\") and lr.png (\"lr\"), each against \"step\", one series\n"
      "per kind and key (train/loss, eval/lm_loss, ...; eval series with point markers). Charts with no data\n"
      "are skipped. Prints each written path, one per line. Safe to run while training writes the file.");
  parser.option("--out", "DIR", "output directory (default RUN_DIR/plots; created)")
      .examples("  explicitlm plot-metrics runs/demo\n"
                "  explicitlm plot-metrics runs/demo --out /tmp/demo-plots\n"
                "  explicitlm plot-metrics runs/demo/metrics.jsonl\n"
                "  tools/plot-metrics runs/demo          # the same, building explicitlm first if needed")
      .notes("A malformed line is an error naming FILE:LINE (exit 1); so is a file with nothing to plot.");
  Args args = args_in;
  std::string run_dir;
  if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
    run_dir = args[0];
    args.erase(args.begin());
  }
  if (!parser.parse(args)) return 0;
  ELM_CHECK(!run_dir.empty(), "explicitlm plot-metrics: missing RUN_DIR (usage: explicitlm plot-metrics RUN_DIR "
                              "[--out DIR]; see --help)");
  start_runtime("plot-metrics", parser.config());

  std::error_code ec;
  const bool is_file = fs::is_regular_file(run_dir, ec);
  const std::string metrics = is_file ? run_dir : (fs::path(run_dir) / "metrics.jsonl").string();
  const fs::path base = is_file ? fs::path(run_dir).parent_path() : fs::path(run_dir);
  ELM_CHECK(fs::exists(metrics, ec), "explicitlm plot-metrics: no metrics file '", metrics, "'");
  const std::string out = parser.get_or("--out", (base / "plots").string());

  const std::vector<std::string> written = train::plot_metrics(metrics, out);
  ELM_LOG(info) << "wrote " << written.size() << " chart(s) from " << metrics << " to " << out;
  for (const auto& path : written) std::cout << path << "\n";
  return 0;
}

}  // namespace elm::app
