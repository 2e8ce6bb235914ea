// Stopping `explicitlm train` early and cleanly: at training.exit_duration_minutes, and on SIGUSR1
// (what Slurm's --signal=B:USR1@SECONDS sends) under mpiexec. Every rank saves the checkpoint of
// the step it stopped after and exits with code 3; under Slurm rank 0 requeues the job; the same
// command resumes and ends where an uninterrupted run ends.
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "support/assertions.h"
#include "support/cli_mpi_train.h"
#include "support/cli_train_fixture.h"
#include "train/checkpoint.h"
#include "train/checkpointer.h"
#include "train/stop_request.h"

namespace elm {
namespace {

namespace fs = std::filesystem;
using testing::joint_args;
using testing::mpiexec;
using testing::summary_of;
using testing::with;

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

TEST(CliTrainStop, TheTimeLimitSavesExitsWithCode3RequeuesAndTheRunResumes) {
  const auto dir = testing::scratch_dir("cli-train-stop", "time");
  auto r = testing::run_cli(joint_args(dir / "one"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // A fake scontrol records the requeue that rank 0 asks Slurm for.
  const fs::path bin = dir / "fakebin";
  fs::create_directories(bin);
  {
    std::ofstream script(bin / "scontrol");
    script << "#!/bin/sh\necho \"$@\" >> " << (dir / "scontrol.log").string() << "\n";
  }
  fs::permissions(bin / "scontrol", fs::perms::owner_all);
  const fs::path run = dir / "limited";
  r = testing::run_cli_with({"env", "SLURM_JOB_ID=4242", "PATH=" + bin.string() + ":" + std::getenv("PATH")},
                            with(joint_args(run), {"training.exit_duration_minutes=0.00001"}));
  ASSERT_EQ(r.exit_code, train::kExitStopped) << r.err;
  const auto summary = summary_of(r);
  EXPECT_EQ(summary["stopped"], "time_limit");
  EXPECT_EQ(summary["steps"], 1);  // the limit (0.6 ms) has passed after the first step
  EXPECT_EQ(read_all(dir / "scontrol.log"), "requeue 4242\n");
  const std::string saved = (run / "checkpoints" / train::checkpoint_file_name(1)).string();
  EXPECT_TRUE(train::verify_checkpoint(saved).ok());

  r = testing::run_cli(joint_args(run));  // the requeued job: same command, no limit
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(summary_of(r)["resumed_from"], 1);
  EXPECT_FALSE(summary_of(r).contains("stopped"));
  const auto a = train::read_checkpoint((dir / "one" / "checkpoints" / train::checkpoint_file_name(4)).string());
  const auto b = train::read_checkpoint((run / "checkpoints" / train::checkpoint_file_name(4)).string());
  ASSERT_EQ(a.parameters.size(), b.parameters.size());
  for (size_t i = 0; i < a.parameters.size(); ++i) {
    EXPECT_TRUE(torch::equal(a.parameters[i].second, b.parameters[i].second)) << a.parameters[i].first;
  }
}

// When Slurm itself requeued the job (its SIGTERM stopped the run), rank 0's own requeue fails:
// the log says the job is back in the queue, not that it must be resubmitted; any other failure
// says to resubmit, with what scontrol said and the job's state; a held requeued job needs a
// release. The cases as Slurm 22.05 shows them: a requeue still completing (scontrol's error), a
// requeued job, a held one, a running one.
TEST(CliTrainStop, AFailedRequeueChecksWhetherSlurmRequeuedTheJobAlready) {
  const auto dir = testing::scratch_dir("cli-train-stop", "requeued");
  const fs::path bin = dir / "fakebin";
  fs::create_directories(bin);
  struct Case {
    std::string name, requeue_error, state;
    bool back;
  };
  for (const Case& k : {Case{"completing", "scontrol: error: Job is pending execution for job 4242", "COMPLETING", true},
                        Case{"requeued", "", "REQUEUED", true},
                        Case{"held", "", "REQUEUE_HOLD", false},
                        Case{"running", "scontrol: error: Access/permission denied", "RUNNING", false}}) {
    {
      std::ofstream script(bin / "scontrol");
      script << "#!/bin/sh\necho \"$@\" >> " << (dir / (k.name + ".log")).string() << "\n"
             << "case \"$1\" in requeue) echo '" << k.requeue_error << "' >&2; exit 1 ;;"
             << " show) echo \"JobId=4242 JobName=t JobState=" << k.state << " Reason=None\" ;; esac\n";
    }
    fs::permissions(bin / "scontrol", fs::perms::owner_all);
    const fs::path run = dir / k.name;
    auto r = testing::run_cli_with({"env", "SLURM_JOB_ID=4242", "PATH=" + bin.string() + ":" + std::getenv("PATH")},
                                   with(joint_args(run), {"training.exit_duration_minutes=0.00001"}));
    ASSERT_EQ(r.exit_code, train::kExitStopped) << r.err;
    EXPECT_EQ(read_all(dir / (k.name + ".log")), "requeue 4242\nshow job -o 4242\n");
    const std::string log = read_all(run / "logs" / "rank0.log");
    if (k.back) {
      EXPECT_CONTAINS(log, "Slurm job 4242 is already back in the queue (");
      EXPECT_CONTAINS(log, "JobState=" + k.state + "); it resumes from the checkpoint just written");
      EXPECT_EQ(log.find("resubmit"), std::string::npos) << log;
    } else if (k.state == "REQUEUE_HOLD") {
      EXPECT_CONTAINS(log, "Slurm job 4242 was requeued but is held (JobState=REQUEUE_HOLD): `scontrol release 4242`");
    } else {
      EXPECT_CONTAINS(log, "Access/permission denied");
      EXPECT_CONTAINS(log, "JobState=RUNNING); resubmit the job to resume");
    }
  }
}

TEST(CliTrainStop, SigusrToMpiexecStopsEveryRankAtTheSameStepAfterSaving) {
  const auto dir = testing::scratch_dir("cli-train-stop", "signal");
  const fs::path run = dir / "run";
  // Long enough to be running when the signal comes; a metrics line every step shows progress.
  std::vector<std::string> cmd = mpiexec(2);
  cmd.push_back(ELM_CLI);
  for (const auto& a : with(joint_args(run), {"training.max_steps=100000", "training.log_interval=1",
                                              "checkpoint.interval=0", "eval.max_examples=1"})) {
    cmd.push_back(a);
  }
  std::string line;
  for (const auto& c : cmd) line += "'" + c + "' ";
  const fs::path out = dir / "out.txt", err = dir / "err.txt", code = dir / "code.txt";
  const std::string script = line + ">" + out.string() + " 2>" + err.string() + " & pid=$!; " +
                             "for i in $(seq 600); do [ -s " + (run / "metrics.jsonl").string() +
                             " ] && break; sleep 0.1; done; sleep 0.5; kill -USR1 $pid; wait $pid; echo $? >" +
                             code.string();
  const fs::path script_file = dir / "stop.sh";
  std::ofstream(script_file) << script << "\n";
  ASSERT_EQ(std::system(("bash " + script_file.string()).c_str()), 0);
  EXPECT_EQ(std::stoi(read_all(code)), train::kExitStopped) << read_all(err);
  const std::string stdout_text = read_all(out);
  const auto start = stdout_text.rfind("\n{", stdout_text.size() - 2);  // the last line: the summary
  const auto summary = nlohmann::json::parse(stdout_text.substr(start == std::string::npos ? 0 : start + 1));
  EXPECT_EQ(summary["stopped"], "signal");
  const int64_t steps = summary["steps"];
  EXPECT_GT(steps, 0);
  EXPECT_LT(steps, 100000);
  const std::string saved = (run / "checkpoints" / train::checkpoint_file_name(steps)).string();
  const auto v = train::verify_checkpoint(saved);
  EXPECT_TRUE(v.ok()) << (v.problems.empty() ? "" : v.problems[0]);
  EXPECT_EQ(train::read_checkpoint(saved).world_size, 2);  // both ranks took part in the save
  // Both ranks logged the stop at the same step.
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_CONTAINS(read_all(run / "logs" / ("rank" + std::to_string(rank) + ".log")),
                    "stopped at step " + std::to_string(steps) + " of 100000");
  }
}

TEST(StopRequest, TheHandlerOnlyRecordsTheSignal) {
  train::install_stop_handlers();
  train::clear_stop_signal();
  EXPECT_EQ(train::stop_signal(), 0);
  std::raise(SIGUSR1);
  EXPECT_EQ(train::stop_signal(), SIGUSR1);
  std::raise(SIGTERM);  // the process is still alive: the handler replaced termination
  EXPECT_EQ(train::stop_signal(), SIGTERM);
  train::clear_stop_signal();
  std::signal(SIGUSR1, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

}  // namespace
}  // namespace elm
