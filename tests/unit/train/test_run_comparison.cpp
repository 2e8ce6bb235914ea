// train/run_comparison: final metrics per run, the config keys that differ, sorting by a metric
// (direction by name, or forced), the table, the charts, and errors that name the run or metric.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/config.h"
#include "support/assertions.h"
#include "support/scratch_dir.h"
#include "train/run_comparison.h"

namespace elm::train {
namespace {

namespace fs = std::filesystem;
using elm::testing::error_of;

// A run directory with metrics lines (train losses per step, one eval line at the end) and a
// resolved config with the given overrides.
fs::path make_run(const fs::path& root, const std::string& name, const std::vector<double>& losses,
                  double accuracy, const std::vector<std::string>& overrides) {
  const fs::path dir = root / name;
  fs::create_directories(dir);
  std::ofstream out(dir / "metrics.jsonl");
  for (size_t i = 0; i < losses.size(); ++i) {
    out << R"({"kind":"train","step":)" << i + 1 << R"(,"loss":)" << losses[i] << R"(,"lr":0.001})" << "\n";
  }
  if (accuracy >= 0) {
    out << R"({"kind":"eval","step":)" << losses.size() << R"(,"accuracy":)" << accuracy << R"(,"questions":8})"
        << "\n";
  }
  Config config;
  for (const auto& o : overrides) config.apply_override(o);
  config.set("run.dir", dir.string());  // differs per run, but is never a comparison column
  config.write_toml((dir / "config.resolved.toml").string());
  return dir;
}

struct ThreeRuns {
  fs::path root = elm::testing::scratch_dir("run-comparison", ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::vector<std::string> dirs = {
      make_run(root, "a", {3.0, 2.0, 1.5}, 0.25, {"training.learning_rate=0.001", "model.dropout=0.1"}).string(),
      make_run(root, "b", {3.0, 1.0, 0.5}, 0.75, {"training.learning_rate=0.002", "model.dropout=0.1"}).string(),
      make_run(root, "c", {3.0, 2.5}, -1, {"training.learning_rate=0.003", "model.dropout=0.1"}).string()};
};

std::vector<std::string> names(const RunComparison& c) {
  std::vector<std::string> out;
  for (const auto& r : c.runs) out.push_back(r.name);
  return out;
}

TEST(RunComparison, FinalMetricsAndTheConfigKeysThatDiffer) {
  ThreeRuns t;
  const RunComparison c = compare_runs(t.dirs, {});
  EXPECT_EQ(c.config_keys, std::vector<std::string>{"training.learning_rate"});  // dropout is the same, run.dir ignored
  EXPECT_EQ(c.metrics, (std::vector<std::string>{"train/loss", "eval/accuracy"}));  // eval/questions left out
  EXPECT_EQ(c.sort_metric, "train/loss");
  EXPECT_FALSE(c.descending);
  ASSERT_EQ(names(c), (std::vector<std::string>{"b", "a", "c"}));  // final loss 0.5, 1.5, 2.5
  EXPECT_DOUBLE_EQ(c.runs[0].final.at("train/loss"), 0.5);
  EXPECT_DOUBLE_EQ(c.runs[0].final.at("eval/accuracy"), 0.75);
  EXPECT_EQ(c.runs[0].last_step, 3);
  EXPECT_EQ(c.runs[2].last_step, 2);
  EXPECT_EQ(c.runs[0].config.at("training.learning_rate"), "0.002");
  EXPECT_EQ(c.runs[2].final.count("eval/accuracy"), 0u);
}

TEST(RunComparison, SortDirectionFollowsTheMetricUnlessForcedAndRunsWithoutItComeLast) {
  ThreeRuns t;
  CompareOptions o;
  o.sort_metric = "eval/accuracy";  // higher is better
  RunComparison c = compare_runs(t.dirs, o);
  EXPECT_TRUE(c.descending);
  EXPECT_EQ(names(c), (std::vector<std::string>{"b", "a", "c"}));  // c has no eval line
  o.order = "asc";
  c = compare_runs(t.dirs, o);
  EXPECT_EQ(names(c), (std::vector<std::string>{"a", "b", "c"}));
  o = {};
  o.order = "desc";
  EXPECT_EQ(names(compare_runs(t.dirs, o)), (std::vector<std::string>{"c", "a", "b"}));
  o = {};
  o.metrics = {"train/lr"};
  EXPECT_EQ(compare_runs(t.dirs, o).metrics, std::vector<std::string>{"train/lr"});
}

TEST(RunComparison, TheTableHasOneRowPerRunInOrder) {
  ThreeRuns t;
  const std::string table = comparison_table(compare_runs(t.dirs, {}));
  const std::string expected =
      "runs sorted by train/loss, ascending\n"
      "#  run  training.learning_rate  step  train/loss  eval/accuracy\n"
      "1  b    0.002                   3     0.5         0.75\n"
      "2  a    0.001                   3     1.5         0.25\n"
      "3  c    0.003                   2     2.5         -\n";
  EXPECT_EQ(table, expected);
}

TEST(RunComparison, ChartsHaveOneFilePerMetric) {
  ThreeRuns t;
  const RunComparison c = compare_runs(t.dirs, {});
  const fs::path out = t.root / "plots";
  const auto written = write_comparison_plots(c, out.string());
  ASSERT_EQ(written, (std::vector<std::string>{(out / "train-loss.png").string(), (out / "eval-accuracy.png").string()}));
  for (const auto& path : written) {
    std::ifstream in(path, std::ios::binary);
    char sig[8] = {};
    in.read(sig, 8);
    EXPECT_EQ(std::string(sig + 1, 3), "PNG") << path;
  }
}

TEST(RunComparison, RunsWithTheSameNameAreToldApartByTheirPath) {
  const fs::path root = elm::testing::scratch_dir("run-comparison", "same-name");
  const auto x = make_run(root / "x", "seed1", {1.0}, -1, {}), y = make_run(root / "y", "seed1", {2.0}, -1, {});
  const RunComparison c = compare_runs({x.string(), y.string()}, {});
  EXPECT_EQ(names(c), (std::vector<std::string>{x.string(), y.string()}));
  EXPECT_TRUE(c.config_keys.empty());
}

TEST(RunComparison, AnUnreadableConfigLeavesTheRunInWithoutConfigColumns) {
  ThreeRuns t;
  std::ofstream(fs::path(t.dirs[1]) / "config.resolved.toml") << "[model]\nno_such_key = 1\n";
  const RunComparison c = compare_runs(t.dirs, {});
  ASSERT_EQ(c.runs.size(), 3u);
  EXPECT_TRUE(c.runs[0].config.empty());  // b, still first by loss
  EXPECT_CONTAINS(c.runs[0].config_note, "unknown config key 'model.no_such_key'");
  EXPECT_EQ(c.config_keys, std::vector<std::string>{"training.learning_rate"});  // a and c still differ
}

TEST(RunComparison, ErrorsNameTheRunOrTheMetric) {
  ThreeRuns t;
  EXPECT_CONTAINS(error_of([&] { compare_runs({(t.root / "nope").string()}, {}); }),
                  "run '" + (t.root / "nope").string() + "': no metrics file");
  CompareOptions o;
  o.sort_metric = "eval/lm_loss";
  EXPECT_CONTAINS(error_of([&] { compare_runs(t.dirs, o); }),
                  "sort metric 'eval/lm_loss' is in none of the runs' metrics.jsonl; the runs have: eval/accuracy, "
                  "eval/questions, train/loss, train/lr");
  o = {};
  o.metrics = {"train/loss", "train/bogus"};
  EXPECT_CONTAINS(error_of([&] { compare_runs(t.dirs, o); }), "metric 'train/bogus' is in none");
  o = {};
  o.order = "up";
  EXPECT_CONTAINS(error_of([&] { compare_runs(t.dirs, o); }), "the order must be asc or desc, got 'up'");
  std::ofstream(fs::path(t.dirs[0]) / "metrics.jsonl", std::ios::app) << "{broken\n";
  EXPECT_CONTAINS(error_of([&] { compare_runs(t.dirs, {}); }), (fs::path(t.dirs[0]) / "metrics.jsonl").string() + ":5:");
  EXPECT_CONTAINS(error_of([&] { compare_runs({}, {}); }), "no run directories given");
}

}  // namespace
}  // namespace elm::train
