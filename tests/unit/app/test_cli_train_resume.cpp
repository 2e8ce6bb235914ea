// Resuming `explicitlm train` after what happens on clusters: a process killed (SIGKILL) in the
// middle of writing a checkpoint, a newest checkpoint that is truncated, and a new allocation of
// another size (4 ranks -> 2, pipeline stages -> none). The resumed run ends where the
// uninterrupted one ends: bit for bit on one process, within rounding (next-step loss 1e-5) on
// another grid.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "support/assertions.h"
#include "support/cli_mpi_train.h"
#include "support/cli_train_fixture.h"
#include "train/checkpoint.h"
#include "train/checkpointer.h"

namespace elm {
namespace {

namespace fs = std::filesystem;
using testing::expect_same_training;
using testing::joint_args;
using testing::mpiexec;
using testing::summary_of;
using testing::with;

fs::path step_file(const fs::path& run, int step) { return run / "checkpoints" / train::checkpoint_file_name(step); }

// The uninterrupted single-process reference (4 steps, a checkpoint after every step).
const fs::path& reference_run() {
  static const fs::path run = [] {
    const fs::path r = testing::scratch_dir("cli-train-resume", "reference") / "one";
    auto res = testing::run_cli(joint_args(r));
    EXPECT_EQ(res.exit_code, 0) << res.err;
    return r;
  }();
  return run;
}

void expect_bit_equal_parameters(const fs::path& a, const fs::path& b) {
  const auto x = train::read_checkpoint(step_file(a, 4).string()), y = train::read_checkpoint(step_file(b, 4).string());
  ASSERT_EQ(x.parameters.size(), y.parameters.size());
  EXPECT_GT(x.tokens_seen, 0);
  EXPECT_EQ(x.tokens_seen, y.tokens_seen);  // carried across the resume
  for (size_t i = 0; i < x.parameters.size(); ++i) {
    EXPECT_TRUE(torch::equal(x.parameters[i].second, y.parameters[i].second)) << x.parameters[i].first;
  }
  for (size_t i = 0; i < x.optimizer.size(); ++i) {
    EXPECT_TRUE(torch::equal(x.optimizer[i].second, y.optimizer[i].second)) << x.optimizer[i].first;
  }
}

TEST(CliTrainResume, AProcessKilledWhileSavingResumesFromThePreviousCheckpoint) {
  const fs::path& one = reference_run();
  const auto dir = testing::scratch_dir("cli-train-resume", "killed");
  for (int ranks : {1, 2}) {
    const fs::path run = dir / ("np" + std::to_string(ranks));
    const std::string fault = "ELM_FAULT_CHECKPOINT=3:4";  // rank 0 dies after 4 datasets of step 3's file
    const std::vector<std::string> launcher =
        ranks == 1 ? std::vector<std::string>{"env", fault} : mpiexec(ranks, {fault});
    auto r = testing::run_cli_with(launcher, joint_args(run));
    ASSERT_NE(r.exit_code, 0) << "np " << ranks << ": the fault did not fire\n" << r.err;
    // The write in progress is a .tmp that nothing loads; the one before is intact.
    EXPECT_TRUE(fs::exists(step_file(run, 3).string() + ".tmp")) << ranks;
    EXPECT_FALSE(fs::exists(step_file(run, 3))) << ranks;
    EXPECT_FALSE(train::is_complete_checkpoint(step_file(run, 3).string() + ".tmp"));
    const auto v = train::verify_checkpoint(step_file(run, 2).string());
    EXPECT_TRUE(v.ok()) << (v.problems.empty() ? "" : v.problems[0]);

    // The same command again: resume=auto continues from step 2 to the end.
    r = testing::run_cli_with(ranks == 1 ? std::vector<std::string>{} : mpiexec(ranks), joint_args(run));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(summary_of(r)["resumed_from"], 2) << ranks;
    EXPECT_FALSE(fs::exists(step_file(run, 3).string() + ".tmp"));  // removed by the next save
    if (ranks == 1) {
      expect_bit_equal_parameters(one, run);
    } else {
      expect_same_training(one, run, "np 2 killed at step 3, resumed");
    }
  }
}

TEST(CliTrainResume, ATruncatedNewestCheckpointFallsBackToThePreviousOne) {
  const fs::path& one = reference_run();
  const auto dir = testing::scratch_dir("cli-train-resume", "truncated");
  const fs::path run = dir / "run";
  fs::copy(one, run, fs::copy_options::recursive);
  const std::string newest = step_file(run, 4).string();
  {
    std::ifstream in(newest, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    in.close();
    std::ofstream(newest, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
  }
  // Naming the damaged step is an error, never a fresh start.
  auto r = testing::run_cli(with(joint_args(run), {"checkpoint.resume=4"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "step-00000004.h5");
  // resume=auto warns and takes step 3, and the run ends as the uninterrupted one did.
  r = testing::run_cli(joint_args(run));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(summary_of(r)["resumed_from"], 3);
  EXPECT_CONTAINS(r.err, "step-00000004.h5 is skipped");
  expect_bit_equal_parameters(one, run);
}

TEST(CliTrainResume, ACheckpointLoadsOnAnotherNumberOfRanksAndStages) {
  // 4 data-parallel ranks save at step 2 and 2 ranks continue; 2 pipeline stages save and 2
  // data-parallel ranks without a pipeline continue. Each rank reads only its own part: its stage's
  // parameters and optimizer state, its shard of the bank rows.
  const fs::path& one = reference_run();
  const auto dir = testing::scratch_dir("cli-train-resume", "regrid");
  struct Case {
    int save_ranks;
    std::vector<std::string> save;
    int load_ranks;
    std::vector<std::string> load;
    std::string name;
  };
  const std::vector<Case> cases = {
      {4, {"parallel.bank_sharding=cyclic"}, 2, {"parallel.bank_sharding=block"}, "dp4-to-dp2"},
      {2, {"parallel.pp=2"}, 2, {}, "pp2-to-dp2"},
  };
  for (const Case& c : cases) {
    const fs::path saved = dir / (c.name + "-saved"), resumed = dir / (c.name + "-resumed");
    auto r = testing::run_cli_with(mpiexec(c.save_ranks), with(joint_args(saved), c.save));
    ASSERT_EQ(r.exit_code, 0) << c.name << "\n" << r.err;
    r = testing::run_cli_with(
        mpiexec(c.load_ranks), with(joint_args(resumed), with(c.load, {"checkpoint.resume=" + step_file(saved, 2).string()})));
    ASSERT_EQ(r.exit_code, 0) << c.name << "\n" << r.err;
    EXPECT_EQ(summary_of(r)["resumed_from"], 2) << c.name;
    EXPECT_EQ(summary_of(r)["ranks"], c.load_ranks) << c.name;
    // The bank rows came from the checkpoint, re-sharded for this run's data-parallel size.
    for (int rank = 0; rank < c.load_ranks; ++rank) {
      std::ifstream in(resumed / "logs" / ("rank" + std::to_string(rank) + ".log"));
      const std::string log((std::istreambuf_iterator<char>(in)), {});
      EXPECT_CONTAINS(log, "shard of " + step_file(saved, 2).string()) << c.name << " rank " << rank;
    }
    // The metrics of steps 3 and 4 (the next-step loss first) match the single process (1e-5).
    expect_same_training(one, resumed, c.name);
  }
}

}  // namespace
}  // namespace elm
