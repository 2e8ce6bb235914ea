// The CLI of the sweep and operations tools: `explicitlm sweep expand`, `explicitlm compare-runs`
// and `explicitlm config --get / --reference`, as job scripts and users call them: output, exit
// codes and messages.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/assertions.h"
#include "support/cli_runner.h"
#include "support/scratch_dir.h"

namespace elm {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

TEST(CliConfig, GetPrintsOneResolvedValueAndReferenceThePage) {
  auto r = run_cli({"config", "--get", "parallel.pp", "parallel.pp=3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "3\n");
  r = run_cli({"config", "--config", std::string(ELM_SOURCE_DIR) + "/configs/tiny.toml", "--get", "run.name"});
  EXPECT_EQ(r.out, "tiny-demo\n");  // strings without quotes
  r = run_cli({"config", "--get", "checkpoint.exclude_from_loading", "checkpoint.exclude_from_loading=rng,bank"});
  EXPECT_EQ(r.out, "[\"rng\", \"bank\"]\n");  // other types as TOML
  r = run_cli({"config", "--get", "parallel.ppp"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "unknown config key 'parallel.ppp' (did you mean 'parallel.pp'?)");
  r = run_cli({"config", "--list", "--reference"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "--list, --reference and --get exclude each other");
  r = run_cli({"config", "--reference"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, read_all(fs::path(ELM_SOURCE_DIR) / "docs" / "config-reference.md"));
}

struct SweepFile {
  fs::path dir = testing::scratch_dir("cli-sweep", ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::path path = dir / "grid.toml";
  SweepFile() {
    std::ofstream(path) << "[sweep]\nout_dir = \"" << (dir / "out").string() << "\"\n"
                        << "[fixed]\n\"training.max_steps\" = 5\n"
                        << "[grid]\n\"training.learning_rate\" = [0.001, 0.002]\n";
  }
};

TEST(CliSweep, ExpandListsCountsAndGivesTheTrainArgumentsOfOneRun) {
  SweepFile s;
  const std::string out = (s.dir / "out").string();
  auto r = run_cli({"sweep", "expand", s.path.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines(r.out), (std::vector<std::string>{
                              "0  learning_rate-0.001  " + out + "/learning_rate-0.001  training.learning_rate=0.001",
                              "1  learning_rate-0.002  " + out + "/learning_rate-0.002  training.learning_rate=0.002"}));
  r = run_cli({"sweep", "expand", s.path.string(), "--count"});
  EXPECT_EQ(r.out, "2\n");
  r = run_cli({"sweep", "expand", s.path.string(), "--index", "1"});
  EXPECT_EQ(lines(r.out), (std::vector<std::string>{"training.max_steps=5", "training.learning_rate=0.002",
                                                     "run.dir=" + out + "/learning_rate-0.002",
                                                     "run.name=grid/learning_rate-0.002"}));
  r = run_cli({"sweep", "expand", s.path.string(), "--json"});
  const auto json_lines = lines(r.out);
  ASSERT_EQ(json_lines.size(), 2u);
  const auto j = nlohmann::json::parse(json_lines[0]);
  EXPECT_EQ(j["index"], 0);
  EXPECT_EQ(j["name"], "learning_rate-0.001");
  EXPECT_EQ(j["run_dir"], out + "/learning_rate-0.001");
  EXPECT_EQ(j["grid"]["training.learning_rate"], "0.001");
  EXPECT_EQ(j["sweep"], "grid");
  EXPECT_EQ(j["train_args"].size(), 4u);
}

TEST(CliSweep, BadUseExitsNonZeroWithTheReason) {
  SweepFile s;
  auto r = run_cli({"sweep", "expand", s.path.string(), "--index", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "--index 2 is outside [0, 2) (" + s.path.string() + " has 2 runs)");
  r = run_cli({"sweep", "expand", s.path.string(), "training.max_steps=3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "config overrides do not belong here");
  r = run_cli({"sweep", "expand", s.path.string(), "--count", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  r = run_cli({"sweep", "expand", (s.dir / "none.toml").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "sweep file not found: " + (s.dir / "none.toml").string());
  r = run_cli({"sweep", "expand"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "missing the sweep file");
  EXPECT_EQ(run_cli({"sweep"}).exit_code, 2);
  EXPECT_EQ(run_cli({"sweep", "shrink"}).exit_code, 2);
  r = run_cli({"sweep", "expand", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_CONTAINS(r.out, "Usage: explicitlm sweep expand SWEEP.toml");
}

// Two finished runs (metrics and resolved configs) and one directory without metrics.
struct Runs {
  fs::path root = testing::scratch_dir("cli-compare", ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::path a = root / "sweep" / "lr-1", b = root / "sweep" / "lr-2", empty = root / "sweep" / "lr-3";
  Runs() {
    for (const auto& [dir, loss, lr] : {std::tuple{a, 2.5, "0.001"}, std::tuple{b, 1.25, "0.002"}}) {
      fs::create_directories(dir);
      std::ofstream(dir / "metrics.jsonl") << R"({"kind":"train","step":1,"loss":3.0})" << "\n"
                                           << R"({"kind":"train","step":2,"loss":)" << loss << "}\n"
                                           << R"({"kind":"eval","step":2,"accuracy":0.5})" << "\n";
      std::ofstream(dir / "config.resolved.toml") << "[training]\nlearning_rate = " << lr << "\n";
    }
    fs::create_directories(empty);
  }
};

TEST(CliCompareRuns, PrintsTheSortedTableAndWritesChartsNextToTheRuns) {
  Runs t;
  auto r = run_cli({"compare-runs", t.a.string(), t.b.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path plots = t.root / "sweep" / "compare";  // the runs' common directory
  EXPECT_EQ(lines(r.out), (std::vector<std::string>{
                              "runs sorted by train/loss, ascending",
                              "#  run   training.learning_rate  step  train/loss  eval/accuracy",
                              "1  lr-2  0.002                   2     1.25        0.5",
                              "2  lr-1  0.001                   2     2.5         0.5",
                              (plots / "train-loss.png").string(), (plots / "eval-accuracy.png").string()}));
  EXPECT_TRUE(fs::is_regular_file(plots / "train-loss.png"));

  r = run_cli({"compare-runs", t.a.string(), t.b.string(), "--sort", "train/loss", "--desc", "--json", "--no-plots"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto json_lines = lines(r.out);
  ASSERT_EQ(json_lines.size(), 2u);
  const auto first = nlohmann::json::parse(json_lines[0]);
  EXPECT_EQ(first["run"], "lr-1");
  EXPECT_EQ(first["step"], 2);
  EXPECT_EQ(first["config"]["training.learning_rate"], "0.001");
  EXPECT_EQ(first["metrics"]["train/loss"], 2.5);
  EXPECT_EQ(first["metrics"]["eval/accuracy"], 0.5);
}

TEST(CliCompareRuns, SkipMissingLeavesOutRunsWithoutMetricsAndErrorsSayWhy) {
  Runs t;
  auto r = run_cli({"compare-runs", t.a.string(), t.empty.string(), "--no-plots"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "run '" + t.empty.string() + "': no metrics file");
  r = run_cli({"compare-runs", t.a.string(), t.empty.string(), "--no-plots", "--skip-missing"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.err, t.empty.string() + ": no metrics.jsonl (the run failed or has not started); left out");
  EXPECT_EQ(lines(r.out).size(), 3u);  // the sort line, the header, one run
  r = run_cli({"compare-runs", t.empty.string(), "--skip-missing"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "none of the 1 run directories has a metrics.jsonl");
  r = run_cli({"compare-runs", t.a.string(), "--asc", "--desc"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "--asc and --desc exclude each other");
  r = run_cli({"compare-runs", t.a.string(), "--sort", "eval/lm_loss", "--no-plots"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "sort metric 'eval/lm_loss' is in none of the runs' metrics.jsonl");
  r = run_cli({"compare-runs", "--no-plots"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "no run directories");
}

}  // namespace
}  // namespace elm
