// `explicitlm train` under mpiexec: data-parallel training on 2 and 4 ranks (a sharded bank, the
// global batch split across ranks, gradients averaged) takes the same steps as one process on the
// same global batch: the same loss at every step, the same parameters at the end (relative 1e-6,
// f32) and the same final evaluation. With 4 ranks and the epoch's short last batch some ranks run
// the weight-0 stand-in. An error on one rank ends every rank with a message.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/assertions.h"
#include "support/cli_mpi_train.h"
#include "support/cli_train_fixture.h"
#include "train/checkpoint.h"
#include "train/checkpointer.h"

namespace elm {
namespace {

namespace fs = std::filesystem;
using testing::base_args;
using testing::CliResult;
using testing::fixture;
using testing::metrics_of;
using testing::mpiexec;
using testing::relative_difference;
using testing::short_training_file;
using testing::summary_of;
using testing::with;

// Joint stage on counterfactual qa records (per-example bank overrides), with dropout, gradient
// accumulation, the router loss and epoch ends: every part of a step that could depend on the split.
std::vector<std::string> joint_args(const fs::path& run) {
  return with(base_args(run, "joint"),
              {"data.format=qa", "data.train_path=" + short_training_file().string(),
               "training.max_steps=4", "training.grad_accum_steps=2", "training.batch_size=6", "model.dropout=0.1",
               "training.router_weight=0.5", "runtime.threads=1", "parallel.timeout_seconds=60",
               "eval.qa_path=" + (fixture().data / "qa_heldout.jsonl").string(), "eval.max_examples=10"});
}

void expect_same_training(const fs::path& one, const fs::path& many, int ranks) {
  const auto a = train::read_checkpoint(train::resolve_checkpoint_path(one.string()));
  const auto b = train::read_checkpoint(train::resolve_checkpoint_path(many.string()));
  EXPECT_EQ(a.step, 4);
  EXPECT_EQ(b.step, 4);
  EXPECT_EQ(a.cursor, b.cursor);
  ASSERT_EQ(a.parameters.size(), b.parameters.size());
  double worst = 0;
  for (size_t i = 0; i < a.parameters.size(); ++i) {
    EXPECT_EQ(a.parameters[i].first, b.parameters[i].first);
    const double d = relative_difference(a.parameters[i].second, b.parameters[i].second);
    worst = std::max(worst, d);
    EXPECT_LE(d, 1e-6) << a.parameters[i].first << " with " << ranks << " ranks";
  }
  std::cout << ranks << " ranks: largest relative parameter difference " << worst << "\n";
  // The bank the checkpoint carries (gathered from the shards) is the whole bank.
  ASSERT_EQ(a.bank.size(), b.bank.size());
  for (size_t i = 0; i < a.bank.size(); ++i) EXPECT_TRUE(torch::equal(a.bank[i].second, b.bank[i].second));

  const auto ma = metrics_of(one), mb = metrics_of(many);
  ASSERT_EQ(ma.size(), mb.size());
  for (size_t i = 0; i < ma.size(); ++i) {
    ASSERT_EQ(ma[i]["kind"], mb[i]["kind"]);
    for (const char* key : {"loss", "ce_loss", "router_loss", "accuracy", "lm_loss", "recall_at_k", "coverage"}) {
      if (!ma[i].contains(key)) continue;
      ASSERT_TRUE(mb[i].contains(key)) << key;
      const double x = ma[i][key].get<double>(), y = mb[i][key].get<double>();
      EXPECT_LE(std::abs(x - y), 1e-6 * std::max(1.0, std::abs(x))) << key << " at line " << i << ", " << ranks << " ranks";
    }
  }
}

TEST(CliTrainParallel, TwoAndFourRanksTrainLikeOneProcess) {
  const auto dir = testing::scratch_dir("cli-train-parallel", "equal");
  auto r = testing::run_cli(joint_args(dir / "one"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(summary_of(r)["ranks"], 1);
  for (int ranks : {2, 4}) {
    const auto run = dir / ("ranks" + std::to_string(ranks));
    r = testing::run_cli_with(mpiexec(ranks), joint_args(run));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Only rank 0 prints the summary.
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_EQ(summary_of(r)["ranks"], ranks);
    expect_same_training(dir / "one", run, ranks);
  }
}

// Runs `explicitlm train` on `ranks` ranks and returns the result and the seconds it took.
std::pair<CliResult, double> timed_run(int ranks, const std::vector<std::string>& args) {
  const auto started = std::chrono::steady_clock::now();
  auto r = testing::run_cli_with(mpiexec(ranks), args);
  return {r, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()};
}

TEST(CliTrainParallel, AnErrorOnOneRankEndsEveryRankWithAMessage) {
  // Rank 1 alone cannot open its log file (a directory stands in its way); rank 0 goes on into the
  // first collective and would wait there forever without the abort.
  const auto dir = testing::scratch_dir("cli-train-parallel", "one-rank-error");
  fs::create_directories(dir / "run" / "logs" / "rank1.log");
  auto [r, seconds] = timed_run(2, joint_args(dir / "run"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_CONTAINS(r.err, "rank 1: cannot open log file");
  EXPECT_CONTAINS(r.err, "aborting the job");
  EXPECT_LT(seconds, 30.0);
  EXPECT_FALSE(fs::exists(dir / "run" / "metrics.jsonl") && fs::exists(dir / "run" / "checkpoints"));
}

TEST(CliTrainParallel, ABatchSmallerThanTheRankCountIsRefused) {
  const auto dir = testing::scratch_dir("cli-train-parallel", "small-batch");
  auto [r, seconds] = timed_run(2, with(joint_args(dir / "run"), {"training.batch_size=1"}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_CONTAINS(r.err, "training.batch_size = 1 is smaller than the 2 data-parallel ranks");
  EXPECT_LT(seconds, 30.0);
}

}  // namespace
}  // namespace elm
