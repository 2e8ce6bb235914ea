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
using testing::expect_same_training;
using testing::joint_args;
using testing::relative_difference;
using testing::three_layer_model;
using testing::short_training_file;
using testing::summary_of;
using testing::with;

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
