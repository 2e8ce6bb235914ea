// `explicitlm plot-metrics`: writes the PNG charts of RUN/metrics.jsonl into RUN/plots (or --out),
// prints their paths, and a malformed file exits 1 naming FILE:LINE.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "support/assertions.h"
#include "support/cli_runner.h"
#include "support/scratch_dir.h"

namespace elm {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

const std::string kMetrics =
    R"({"kind":"train","step":10,"epoch":0,"lr":0.0002,"loss":2.31,"ce_loss":2.2,"similarity_loss":-0.4,"diversity_loss":0.1,"router_loss":0.0,"grad_norm":0.8,"alpha_mean":0.31,"coverage":0.12,"tokens_per_s":1234.5,"wall_s":12.3})"
    "\n"
    R"({"kind":"train","step":20,"epoch":0,"lr":0.0001,"loss":2.01,"ce_loss":1.9,"similarity_loss":-0.5,"diversity_loss":0.1,"router_loss":0.0,"grad_norm":0.7,"alpha_mean":0.33,"coverage":0.2,"tokens_per_s":1250.0,"wall_s":24.1})"
    "\n"
    R"({"kind":"eval","step":20,"lm_loss":1.9,"perplexity":6.7,"accuracy_with_bank":0.93,"accuracy_without_bank":0.05,"recall_at_k":0.95,"hit_rate":0.9,"alpha_mean":0.4,"coverage":0.6})"
    "\n";

fs::path run_dir(const std::string& name, const std::string& metrics) {
  const auto dir = testing::scratch_dir("cli-plot-metrics", name);
  std::ofstream(dir / "metrics.jsonl", std::ios::binary) << metrics;
  return dir;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

bool starts_with_png_signature(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  char sig[8] = {};
  in.read(sig, 8);
  return in.good() && std::string(sig, 8) == std::string("\x89PNG\r\n\x1a\n", 8);
}

TEST(CliPlotMetrics, WritesChartsIntoRunPlots) {
  const auto dir = run_dir("default", kMetrics);
  const auto r = run_cli({"plot-metrics", dir.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto printed = lines(r.out);
  std::vector<std::string> expected;
  for (const char* f : {"loss.png", "accuracy.png", "alpha.png", "coverage.png", "lr.png"}) {
    expected.push_back((dir / "plots" / f).string());
    EXPECT_TRUE(starts_with_png_signature(dir / "plots" / f)) << f;
  }
  EXPECT_EQ(printed, expected);
}

TEST(CliPlotMetrics, OutOptionAndMetricsFileArgument) {
  const auto dir = run_dir("out", R"({"step":1,"loss":3.0})" "\n" R"({"step":2,"loss":2.5})" "\n");
  const auto out = dir / "elsewhere";
  auto r = run_cli({"plot-metrics", (dir / "metrics.jsonl").string(), "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines(r.out), (std::vector<std::string>{(out / "loss.png").string()}));
  EXPECT_TRUE(starts_with_png_signature(out / "loss.png"));
  EXPECT_FALSE(fs::exists(dir / "plots"));
  EXPECT_FALSE(fs::exists(out / "lr.png"));  // no lr in the file: no chart
}

TEST(CliPlotMetrics, MalformedLineExitsOneNamingFileAndLine) {
  const auto dir = run_dir("bad", kMetrics + "{\"kind\":\"train\",\"step\":30,\"loss\":\n");
  const auto r = run_cli({"plot-metrics", dir.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, (dir / "metrics.jsonl").string() + ":4");
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(fs::exists(dir / "plots" / "loss.png"));
}

TEST(CliPlotMetrics, MissingInputsAndHelp) {
  auto r = run_cli({"plot-metrics"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "missing RUN_DIR");
  const auto empty = testing::scratch_dir("cli-plot-metrics", "no-metrics");
  r = run_cli({"plot-metrics", empty.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, (empty / "metrics.jsonl").string());
  r = run_cli({"plot-metrics", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_CONTAINS(r.out, "Usage: explicitlm plot-metrics RUN_DIR");
  EXPECT_CONTAINS(r.out, "Examples:");
  r = run_cli({"--help"});
  EXPECT_CONTAINS(r.out, "plot-metrics");
}

}  // namespace
}  // namespace elm
