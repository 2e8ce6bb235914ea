// explicitlm train: one training stage (router, fusion, joint or backbone) with checkpoints,
// metrics and a final evaluation. See docs/training.md.
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <utility>

#include <nlohmann/json.hpp>

#include "app/cli_args.h"
#include "app/commands.h"
#include "app/runtime.h"
#include "app/tokenizer_path.h"
#include "core/allocator.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/parse.h"
#include "dist/abort.h"
#include "dist/broadcast_text.h"
#include "dist/mpi_env.h"
#include "dist/parallel_options.h"
#include "dist/process_grid.h"
#include "text/tokenizer.h"
#include "train/stop_request.h"
#include "train/trainer.h"

namespace elm::app {
namespace {

std::string default_run_dir(const Config& c) {
  const std::string stamp = utc_now("%Y%m%d-%H%M%S");
  const std::string name = c.get_string("run.name").empty() ? "train" : c.get_string("run.name");
  return "runs/" + name + "-" + c.get_string("training.stage") + "-" + stamp;
}

// Runs a shell command; its exit status (as std::system gives it) and what it printed on stdout
// and stderr.
std::pair<int, std::string> run_command(const std::string& cmd) {
  std::FILE* pipe = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!pipe) return {-1, ""};
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int status = ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return {status, out};
}

// The JobState of a Slurm job from `scontrol show job -o ID` ("" when scontrol cannot tell).
std::string slurm_job_state(const std::string& id) {
  const std::string out = run_command("scontrol show job -o " + id).second;
  const size_t at = out.find("JobState=");
  if (at == std::string::npos) return "";
  const size_t begin = at + 9;
  return out.substr(begin, out.find_first_of(" \n", begin) - begin);
}

// What every rank runs once the options are parsed (collective over MPI_COMM_WORLD).
// After a stop by signal or time limit, under Slurm: put the job back in the queue so that it
// resumes from the checkpoint just written (training.requeue_on_stop). A failure is logged: the
// checkpoint is safe either way and the job can be resubmitted by hand.
void requeue_under_slurm(const Config& c) {
  const char* job = std::getenv("SLURM_JOB_ID");
  if (!job || !*job || !c.get_bool("training.requeue_on_stop")) return;
  const std::string id(job);
  ELM_CHECK(id.find_first_not_of("0123456789_") == std::string::npos, "SLURM_JOB_ID '", id, "' is not a job id");
  const std::string cmd = "scontrol requeue " + id;
  const auto [rc, said] = run_command(cmd);
  if (rc == 0) {
    ELM_LOG(info) << "requeued Slurm job " << id << " (" << cmd << ")";
    return;
  }
  // Slurm's own requeue (`scontrol requeue` by an admin, preemption with PreemptMode=REQUEUE) sent
  // the SIGTERM that stopped us and has already put the job back: ours then fails with "Job is
  // pending execution" while the job is still COMPLETING (it cannot finish before we exit), or the
  // job shows as PENDING / REQUEUED. That is not a failure.
  const std::string state = slurm_job_state(id);
  const std::string detail = (said.empty() ? "" : "scontrol: \"" + said + "\", ") + "JobState=" +
                             (state.empty() ? "unknown" : state);
  if (state == "REQUEUE_HOLD") {
    ELM_LOG(warning) << "Slurm job " << id << " was requeued but is held (" << detail << "): `scontrol release "
                     << id << "` lets it resume from the checkpoint just written";
  } else if (said.find("pending execution") != std::string::npos || state == "PENDING" || state == "REQUEUED" ||
             state == "REQUEUE_FED") {
    ELM_LOG(info) << "Slurm job " << id << " is already back in the queue (" << detail
                  << "); it resumes from the checkpoint just written";
  } else {
    ELM_LOG(warning) << "`" << cmd << "` failed (status " << rc << "; " << detail << "); resubmit the job to resume";
  }
}

int train_ranks(Config config, const std::string& tokenizer_option) {
  dist::check_slurm_world_size();
  dist::ProcessGrid grid(dist::ParallelOptions::from_config(config), MPI_COMM_WORLD, torch::kCPU);
  // Rank 0 names the run directory (the default carries a time stamp each rank would read differently).
  if (config.get_string("run.dir").empty()) {
    const std::string dir = dist::broadcast_string(grid.world(), grid.rank() == 0 ? default_run_dir(config) : "", 0);
    config.set("run.dir", dir, "explicitlm train default");
  }
  keep_freed_memory_for_reuse();  // large per-step temporaries: see core/allocator.h
  Runtime rt = start_runtime("train", std::move(config));
  const Config& c = rt.config;
  if (grid.world().size() > 1) {
    ELM_LOG(info) << "process grid: " << grid.layout().pp << " pipeline stage(s) x " << grid.dp().size()
                  << " data-parallel rank(s) (" << grid.dp().backend() << "), "
                  << c.get_string("parallel.bank_sharding") << " bank sharding";
  }

  const std::string model_dir = c.get_string("model.qwen3_model_path");
  ELM_CHECK(!model_dir.empty(), "explicitlm train: model.qwen3_model_path is not set");
  const std::string tok_path = resolve_tokenizer_path(tokenizer_option, model_dir);
  ELM_CHECK(!tok_path.empty(), "explicitlm train: no tokenizer (pass --tokenizer or run tools/setup.sh)");
  const text::Tokenizer tokenizer = text::Tokenizer::load(tok_path);

  train::install_stop_handlers();
  train::TrainResult r = train::run_training(c, rt.run_dir, tokenizer, &grid);
  const int code = r.stopped.empty() ? 0 : train::kExitStopped;
  if (grid.rank() != 0) return code;
  nlohmann::json summary = {{"stage", c.get_string("training.stage")},
                            {"run_dir", rt.run_dir},
                            {"ranks", grid.world().size()},
                            {"pp", grid.layout().pp},
                            {"steps", r.steps},
                            {"resumed_from", r.resumed_from},
                            {"first_loss", r.first_loss},
                            {"last_loss", r.last_loss},
                            {"checkpoint", r.checkpoint},
                            {"wall_seconds", r.wall_seconds}};
  if (!r.backbone_dir.empty()) summary["backbone_dir"] = r.backbone_dir;
  if (!r.eval.is_null()) summary["eval"] = r.eval;
  if (!r.stopped.empty()) summary["stopped"] = r.stopped;
  std::cout << summary.dump() << std::endl;
  // Last: `scontrol requeue` ends the running job at once (SIGTERM to its processes), so the
  // summary goes to the job's log first.
  if (!r.stopped.empty()) requeue_under_slurm(c);
  return code;
}

}  // namespace

int run_train(const Args& args) {
  ArgParser parser("train", "[--config FILE] [--stage S] [--run-dir DIR] [--resume auto|none|STEP|PATH] [section.key=value ...]",
                   "Trains one stage of ExplicitLM on data.train_path (docs/training.md):\n"
                   "  router    the routers on soft labels (data.format router, or qa records with \"index\")\n"
                   "  fusion    the memory components on the next-token cross-entropy\n"
                   "  joint     cross-entropy + 0.1 similarity + 0.05 diversity (training.*_weight)\n"
                   "  backbone  the backbone itself (tiny demos only); writes RUN/backbone\n"
                   "Only the memory components train in the memory stages; logits are computed only at\n"
                   "positions that carry loss. The run directory (run.dir, default runs/NAME-STAGE-TIME)\n"
                   "receives config.resolved.toml, logs/, metrics.jsonl and checkpoints/. A run resumes from\n"
                   "its newest checkpoint (checkpoint.resume=auto). The last stdout line is a JSON summary.\n"
                   "Started on several MPI ranks (launch/train.sh -n R, mpirun, srun) it trains data-parallel:\n"
                   "each micro-batch is split over the ranks, each rank holds a shard of the bank, and the\n"
                   "result equals one process on the same global batch (docs/distributed.md). With\n"
                   "parallel.pp=P the model is also split into P pipeline stages (parallel.schedule 1f1b|gpipe,\n"
                   "parallel.microbatches, parallel.stage_layers, parallel.recompute); ranks = P x dp.");
  parser.option("--stage", "S", "training.stage: router | fusion | joint | backbone")
      .option("--run-dir", "DIR", "run.dir: where config, logs, metrics and checkpoints go")
      .option("--resume", "R", "checkpoint.resume: auto (default) | none | STEP | PATH")
      .option("--tokenizer", "PATH", "tokenizer.json or directory (default: the model directory, else the shipped one)")
      .examples("  explicitlm train --config configs/tiny.toml model.knowledge_num=4096 training.batch_size=8 \\\n"
                "      training.learning_rate=2e-4 training.epochs=1\n"
                "  explicitlm train --config configs/tiny.toml --stage router --run-dir runs/router \\\n"
                "      data.format=router data.train_path=build/demo/data/router_train.jsonl\n"
                "  explicitlm train --config configs/tiny.toml --stage joint --run-dir runs/joint \\\n"
                "      training.init_from=runs/router training.max_steps=600\n"
                "  explicitlm train --config configs/tiny.toml --run-dir runs/joint   # resumes runs/joint\n"
                "  launch/train.sh -n 4 configs/tiny.toml --run-dir runs/joint4      # 4 data-parallel ranks\n"
                "  launch/train.sh -n 4 configs/tiny.toml --run-dir runs/pp parallel.pp=2   # 2 stages x 2 ranks");
  if (!parser.parse(args)) return 0;
  Config config = parser.config();
  const std::string cli = "command line";
  if (auto v = parser.maybe("--stage")) config.set("training.stage", *v, cli);
  if (auto v = parser.maybe("--run-dir")) config.set("run.dir", *v, cli);
  if (auto v = parser.maybe("--resume")) config.set("checkpoint.resume", *v, cli);

  // One process or many (mpirun / srun): the same code; a single process is a world of one.
  dist::MpiEnvironment mpi;
  try {
    return train_ranks(config, parser.get_or("--tokenizer", ""));
  } catch (const std::exception& e) {
    // Other ranks would wait forever in their next collective: end the whole job from here.
    if (mpi.world_size() > 1) dist::abort_all(e.what());
    throw;
  }
}

}  // namespace elm::app
