// `explicitlm train` with pipeline parallelism under mpiexec: 2 stages (np 2) and 2 stages x 2
// data-parallel ranks (np 4), both schedules, fewer micro-batches than stages, uneven layer counts
// and recomputation, each against one process on the same global batch: the same loss at every
// step and the same gradients (relative 1e-5), and the same checkpoint (the whole model). A rank
// that fails mid-schedule ends every rank with a message.
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
using testing::CliResult;
using testing::fixture;
using testing::metrics_of;
using testing::mpiexec;
using testing::relative_difference;
using testing::short_training_file;
using testing::summary_of;
using testing::with;

// A 3-layer model (so 2 stages split it unevenly) with memory after every layer: gradients have
// to travel back through the frozen layers of the last stage to reach the first stage's memory.
const fs::path& three_layer_model() {
  static const fs::path path = [] {
    const fs::path p = fixture().dir / "model3";
    auto r = testing::run_cli({"make-tiny-qwen3", "--out", p.string(), "--hidden-size", "32", "--intermediate-size",
                               "64", "--layers", "3", "--heads", "2", "--kv-heads", "1", "--head-dim", "16", "--dtype",
                               "f32", "--seed", "5"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return p;
  }();
  return path;
}

// Joint stage on counterfactual qa records (bank overrides), dropout, gradient accumulation, the
// router loss, an epoch end in a batch of 3 rows (a stand-in chunk with 2 DP ranks x 2 chunks).
std::vector<std::string> joint_args(const fs::path& run) {
  return with(testing::base_args(run, "joint"),
              {"model.qwen3_model_path=" + three_layer_model().string(), "memory.layers=all",
               "data.format=qa", "data.train_path=" + short_training_file().string(), "training.max_steps=4",
               "training.grad_accum_steps=2", "training.batch_size=6", "model.dropout=0.1",
               "training.router_weight=0.5", "runtime.threads=1", "parallel.timeout_seconds=60",
               "eval.qa_path=" + (fixture().data / "qa_heldout.jsonl").string(), "eval.max_examples=10",
               "checkpoint.interval=1", "checkpoint.keep_latest_k=4"});
}

void expect_same_training(const fs::path& one, const fs::path& many, const std::string& what) {
  const auto a = train::read_checkpoint(train::resolve_checkpoint_path(one.string()));
  const auto b = train::read_checkpoint(train::resolve_checkpoint_path(many.string()));
  EXPECT_EQ(b.step, 4) << what;
  EXPECT_EQ(a.cursor, b.cursor) << what;
  ASSERT_EQ(a.parameters.size(), b.parameters.size()) << what;
  ASSERT_EQ(a.optimizer.size(), b.optimizer.size()) << what;
  // The gradients of step 1: AdamW's first moment after one step is 0.1 x the (clipped) gradient.
  // Over all parameters together they agree within 1e-5; single tensors whose gradient is a sum of
  // many cancelling terms over the tokens (scalars such as log_scale) keep less precision in f32.
  const fs::path first_a = one / "checkpoints" / "step-00000001.h5", first_b = many / "checkpoints" / "step-00000001.h5";
  if (fs::exists(first_b)) {
    const auto ga = train::read_checkpoint(first_a.string()), gb = train::read_checkpoint(first_b.string());
    ASSERT_EQ(ga.optimizer.size(), gb.optimizer.size()) << what;
    double diff2 = 0, norm2 = 0, worst_tensor = 0;
    for (size_t i = 0; i < ga.optimizer.size(); ++i) {
      const std::string& name = ga.optimizer[i].first;
      ASSERT_EQ(name, gb.optimizer[i].first);
      if (name.size() < 8 || name.compare(name.size() - 8, 8, ".exp_avg") != 0) continue;
      const auto x = ga.optimizer[i].second.to(torch::kFloat64), y = gb.optimizer[i].second.to(torch::kFloat64);
      diff2 += (x - y).pow(2).sum().item<double>();
      norm2 += x.pow(2).sum().item<double>();
      const double d = relative_difference(x, y);
      worst_tensor = std::max(worst_tensor, d);
      EXPECT_LE(d, 1e-4) << name << ", " << what;
    }
    const double whole = std::sqrt(diff2 / std::max(norm2, 1e-300));
    EXPECT_LE(whole, 1e-5) << what;
    std::cout << what << ": step-1 gradient relative difference " << whole << " (worst tensor " << worst_tensor << ")\n";
  }
  // The parameters after 4 AdamW steps: Adam divides by the gradients' running RMS, which turns
  // rounding differences of 1e-7 in a small gradient into larger relative ones (a scalar like
  // alpha_bias moved by 2e-3 differs by 4e-8), hence a looser bound than the gradients'.
  double worst = 0;
  for (size_t i = 0; i < a.parameters.size(); ++i) {
    EXPECT_EQ(a.parameters[i].first, b.parameters[i].first);
    const double d = relative_difference(a.parameters[i].second, b.parameters[i].second);
    worst = std::max(worst, d);
    EXPECT_LE(d, 1e-4) << a.parameters[i].first << ", " << what;
  }
  std::cout << what << ": largest relative parameter difference after 4 steps " << worst << "\n";
  ASSERT_EQ(a.bank.size(), b.bank.size());
  for (size_t i = 0; i < a.bank.size(); ++i) EXPECT_TRUE(torch::equal(a.bank[i].second, b.bank[i].second));

  // Every metrics line of the run (a resumed run has only its own steps) against the same line of
  // the single process.
  const auto ma = metrics_of(one), mb = metrics_of(many);
  ASSERT_FALSE(mb.empty()) << what;
  for (const auto& line : mb) {
    const nlohmann::json* match = nullptr;
    for (const auto& ref : ma) {
      if (ref["kind"] == line["kind"] && ref.value("step", -1) == line.value("step", -1)) match = &ref;
    }
    ASSERT_NE(match, nullptr) << line.dump() << ", " << what;
    for (const char* key : {"loss", "ce_loss", "router_loss", "similarity_loss", "diversity_loss", "alpha_mean",
                            "grad_norm", "accuracy", "lm_loss", "recall_at_k"}) {
      if (!match->contains(key)) continue;
      ASSERT_TRUE(line.contains(key)) << key << ", " << what;
      const double x = (*match)[key].get<double>(), y = line[key].get<double>();
      EXPECT_LE(std::abs(x - y), 1e-5 * std::max(1.0, std::abs(x))) << key << " at step " << line.value("step", -1)
                                                                     << ", " << what;
    }
  }
}

struct PipelineCase {
  int ranks;
  std::vector<std::string> settings;
  std::string name;
};

TEST(CliTrainPipeline, PipelineStagesTrainLikeOneProcess) {
  const auto dir = testing::scratch_dir("cli-train-pipeline", "equal");
  auto r = testing::run_cli(joint_args(dir / "one"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<PipelineCase> cases = {
      {2, {"parallel.pp=2", "parallel.schedule=1f1b", "parallel.microbatches=3"}, "pp2-1f1b-m3"},
      {2, {"parallel.pp=2", "parallel.schedule=gpipe", "parallel.microbatches=1", "parallel.stage_layers=1,2"},
       "pp2-gpipe-m1-layers1+2"},
      {2, {"parallel.pp=2", "parallel.microbatches=2", "parallel.recompute=true"}, "pp2-1f1b-m2-recompute"},
      {4, {"parallel.pp=2", "parallel.schedule=1f1b", "parallel.microbatches=2"}, "pp2xdp2-1f1b-m2"},
      {4, {"parallel.pp=2", "parallel.schedule=gpipe", "parallel.microbatches=2"}, "pp2xdp2-gpipe-m2"},
  };
  for (const auto& c : cases) {
    const auto run = dir / c.name;
    r = testing::run_cli_with(mpiexec(c.ranks), with(joint_args(run), c.settings));
    ASSERT_EQ(r.exit_code, 0) << c.name << "\n" << r.err;
    EXPECT_EQ(summary_of(r)["pp"], 2) << c.name;
    EXPECT_EQ(summary_of(r)["ranks"], c.ranks) << c.name;
    expect_same_training(dir / "one", run, c.name);
  }
}

TEST(CliTrainPipeline, ARunResumesOnAnotherGrid) {
  // pp 2 x dp 2 writes a checkpoint at step 2; one process resumes from it and ends where an
  // uninterrupted single-process run ends: the checkpoint holds the whole model and its optimizer.
  const auto dir = testing::scratch_dir("cli-train-pipeline", "resume");
  auto r = testing::run_cli(joint_args(dir / "one"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = testing::run_cli_with(mpiexec(4), with(joint_args(dir / "grid"), {"parallel.pp=2"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string step2 = (dir / "grid" / "checkpoints" / "step-00000002.h5").string();
  ASSERT_TRUE(fs::exists(step2));
  r = testing::run_cli(with(joint_args(dir / "resumed"), {"checkpoint.resume=" + step2}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(summary_of(r)["resumed_from"], 2);
  expect_same_training(dir / "one", dir / "resumed", "pp2xdp2 to 1 process at step 2");
}

TEST(CliTrainPipeline, AStageWithoutMemoryLayersPassesGradientsThrough) {
  // Memory only after layer 0: stage 1 (layers 1-2) trains nothing, and it starts from a
  // checkpoint that holds none of its (zero) parameters.
  const auto dir = testing::scratch_dir("cli-train-pipeline", "no-memory-stage");
  const std::vector<std::string> layer0 = {"memory.layers=0", "parallel.stage_layers=1,2", "training.max_steps=2"};
  auto r = testing::run_cli(with(joint_args(dir / "init"), layer0));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string init = "training.init_from=" + (dir / "init").string();
  r = testing::run_cli(with(with(joint_args(dir / "one"), layer0), {init}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = testing::run_cli_with(mpiexec(2), with(with(joint_args(dir / "pp"), layer0), {init, "parallel.pp=2"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto a = train::read_checkpoint(train::resolve_checkpoint_path((dir / "one").string()));
  const auto b = train::read_checkpoint(train::resolve_checkpoint_path((dir / "pp").string()));
  ASSERT_EQ(a.parameters.size(), b.parameters.size());
  ASSERT_FALSE(a.parameters.empty());
  for (size_t i = 0; i < a.parameters.size(); ++i) {
    EXPECT_LE(relative_difference(a.parameters[i].second, b.parameters[i].second), 1e-4) << a.parameters[i].first;
  }
}

TEST(CliTrainPipeline, ARankFailingMidScheduleStopsEveryRank) {
  // World rank 3 (last stage, dp rank 1) fails in the backward pass of its second pipeline step;
  // then world rank 0 (first stage, with activations of its warm-up forwards in flight) in its first.
  for (const auto& [fault, ranks] : std::vector<std::pair<std::string, int>>{{"3:1", 4}, {"0:0", 2}}) {
    const auto dir = testing::scratch_dir("cli-train-pipeline", "fault-" + std::to_string(ranks));
    const auto started = std::chrono::steady_clock::now();
    auto r = testing::run_cli_with(mpiexec(ranks, {"ELM_FAULT_PIPELINE=" + fault}),
                                   with(joint_args(dir / "run"), {"parallel.pp=2", "parallel.microbatches=2"}));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_NE(r.exit_code, 0) << fault;
    EXPECT_CONTAINS(r.err, "rank " + fault.substr(0, 1) + ": injected fault (ELM_FAULT_PIPELINE) in the backward pass");
    EXPECT_CONTAINS(r.err, "aborting the job");
    EXPECT_LT(seconds, 30.0) << fault;
  }
}

TEST(CliTrainPipeline, MoreStagesThanLayersIsRefusedOnEveryRank) {
  const auto dir = testing::scratch_dir("cli-train-pipeline", "too-many-stages");
  auto r = testing::run_cli_with(mpiexec(4), with(joint_args(dir / "run"), {"parallel.pp=4"}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_CONTAINS(r.err, "parallel.pp = 4: the backbone has only 3 decoder layers");
}

}  // namespace
}  // namespace elm
