// `explicitlm train` and `explicitlm eval` end to end on a small model the project makes: every stage
// runs and writes its run directory (resolved config, logs, metrics, checkpoints; the backbone
// stage a model directory), the joint stage starts from the router run, a resumed run equals the
// uninterrupted one bit for bit, eval prints the knowledge JSON, and bad input exits 1 with a
// message that names what is wrong.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/assertions.h"
#include "support/cli_runner.h"
#include "support/cli_train_fixture.h"
#include "support/scratch_dir.h"
#include "train/checkpoint.h"
#include "train/checkpointer.h"

namespace elm {
namespace {

namespace fs = std::filesystem;
using testing::CliResult;
using testing::fixture;
using testing::metrics_of;
using testing::run_cli;
using testing::summary_of;
using testing::base_args;
using testing::with;

TEST(CliTrain, BackboneStageWritesAModelDirectoryAndARunDirectory) {
  const auto run = testing::scratch_dir("cli-train", "backbone") / "run";
  auto r = run_cli(with(base_args(run, "backbone"),
                        {"data.format=pretrain", "data.wrap_chat_template=false",
                         "data.train_path=" + (fixture().data / "pretrain.jsonl").string(), "training.max_steps=3",
                         "training.learning_rate=1e-3"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto s = summary_of(r);
  EXPECT_EQ(s["steps"], 3);
  EXPECT_EQ(s["stage"], "backbone");
  EXPECT_TRUE(fs::exists(run / "backbone" / "config.json"));
  EXPECT_TRUE(fs::exists(run / "backbone" / "model.safetensors"));
  EXPECT_TRUE(fs::exists(run / "backbone" / "tokenizer.json"));
  EXPECT_TRUE(fs::exists(run / "config.resolved.toml"));
  EXPECT_TRUE(fs::exists(run / "logs" / "rank0.log"));
  EXPECT_TRUE(fs::exists(s["checkpoint"].get<std::string>()));
  const auto m = metrics_of(run);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m.back()["step"], 3);
  EXPECT_GT(m.back()["ce_loss"].get<double>(), 0.0);
  // The exported backbone loads and generates.
  r = run_cli({"generate", "--model", (run / "backbone").string(), "--prompt", "Question:", "--max-new-tokens", "2",
               "--greedy", "--no-stream"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(CliTrain, RouterThenJointThenEval) {
  const auto dir = testing::scratch_dir("cli-train", "stages");
  auto r = run_cli(with(base_args(dir / "router", "router"),
                        {"data.format=router", "data.train_path=" + (fixture().data / "router_train.jsonl").string(),
                         "training.max_steps=4", "training.learning_rate=1e-2"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(summary_of(r)["steps"], 4);
  const auto rm = metrics_of(dir / "router");
  ASSERT_FALSE(rm.empty());
  EXPECT_TRUE(rm.back().contains("router_loss"));
  EXPECT_FALSE(rm.back().contains("ce_loss"));

  r = run_cli(with(base_args(dir / "joint", "joint"),
                   {"data.format=qa", "data.train_path=" + (fixture().data / "memory_train.jsonl").string(),
                    "training.max_steps=4", "training.init_from=" + (dir / "router").string(),
                    "eval.qa_path=" + (fixture().data / "qa_heldout.jsonl").string(), "eval.max_examples=8"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto s = summary_of(r);
  ASSERT_TRUE(s.contains("eval"));
  EXPECT_EQ(s["eval"]["questions"], 8);
  EXPECT_GE(s["eval"]["accuracy"].get<double>(), 0.0);
  const auto jm = metrics_of(dir / "joint");
  EXPECT_EQ(jm.back()["kind"], "eval");
  EXPECT_TRUE(jm.front().contains("similarity_loss"));
  EXPECT_TRUE(jm.front().contains("selection_hit"));

  r = run_cli({"eval", "--run", (dir / "joint").string(), "--seed", "5", "eval.synth_dir=" + fixture().data.string(),
               "eval.entities=6", "logging.level=warning"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto e = summary_of(r);
  for (const char* key : {"accuracy_with_bank", "accuracy_without_bank", "edit_success", "knowledge_sensitivity",
                          "router_recall_at_k", "unedited_accuracy_after_edit"}) {
    ASSERT_TRUE(e.contains(key)) << key;
    EXPECT_GE(e[key].get<double>(), -1.0) << key;
    EXPECT_LE(e[key].get<double>(), 1.0) << key;
  }
  EXPECT_EQ(e["questions"], 6 * 6);
  EXPECT_EQ(e["edited_entities"], 3);
  EXPECT_EQ(e["seed"], 5);
  EXPECT_EQ(e["steps"], 4);
  // The same seed gives the same sample and answers; eval wrote nothing into the run.
  auto again = run_cli({"eval", "--run", (dir / "joint").string(), "--seed", "5",
                        "eval.synth_dir=" + fixture().data.string(), "eval.entities=6", "logging.level=warning"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(summary_of(again), e);
}

TEST(CliTrain, ResumedRunEqualsTheUninterruptedOneBitForBit) {
  const auto dir = testing::scratch_dir("cli-train", "resume");
  auto args = [&](const fs::path& run) {
    return with(base_args(run, "joint"),
                {"data.format=qa", "data.train_path=" + (fixture().data / "memory_train.jsonl").string(),
                 "training.max_steps=6", "checkpoint.interval=3", "checkpoint.keep_latest_k=3", "model.dropout=0.1",
                 "training.grad_accum_steps=2"});
  };
  auto r = run_cli(args(dir / "a"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_cli(args(dir / "b"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // "Interrupt" b after step 3: drop its final checkpoint and rerun: it resumes from step 3.
  const auto final_b = summary_of(r)["checkpoint"].get<std::string>();
  fs::remove(final_b);
  r = run_cli(args(dir / "b"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(summary_of(r)["resumed_from"], 3);
  const auto a = train::read_checkpoint(train::resolve_checkpoint_path((dir / "a").string()));
  const auto b = train::read_checkpoint(train::resolve_checkpoint_path((dir / "b").string()));
  EXPECT_EQ(a.step, 6);
  EXPECT_EQ(b.step, 6);
  ASSERT_EQ(a.parameters.size(), b.parameters.size());
  for (size_t i = 0; i < a.parameters.size(); ++i) {
    EXPECT_EQ(a.parameters[i].first, b.parameters[i].first);
    EXPECT_TRUE(torch::equal(a.parameters[i].second, b.parameters[i].second)) << a.parameters[i].first;
  }
  // The metrics file continues consistently: steps 1..6 once each.
  const auto m = metrics_of(dir / "b");
  std::vector<int64_t> steps;
  for (const auto& line : m) {
    if (line["kind"] == "train") steps.push_back(line["step"].get<int64_t>());
  }
  EXPECT_EQ(steps, (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  // Running a finished run again does no step.
  r = run_cli(args(dir / "b"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(summary_of(r)["steps"], 6);
}

TEST(CliTrain, TheSeedsCommandLineShapeWorks) {
  const auto run = testing::scratch_dir("cli-train", "seed-shape") / "run";
  auto args = base_args(run, "joint");
  args = with(args, {"data.train_path=" + (fixture().data / "memory_train.jsonl").string(), "model.knowledge_num=4096",
                     "model.num_candidates_internal=16", "training.batch_size=8", "training.learning_rate=2e-4",
                     "training.epochs=1", "model.cache_path=" + (run.parent_path() / "bank4096.h5").string()});
  auto r = run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 20 entities x 12 questions x (1 + 1 variant) = 480 examples, batches of 8: 60 steps in one epoch.
  EXPECT_EQ(summary_of(r)["steps"], 60);
}

TEST(CliTrain, BadInputExitsOneWithAMessage) {
  const auto dir = testing::scratch_dir("cli-train", "errors");
  auto r = run_cli(with(base_args(dir / "a", "router"),
                        {"data.format=pretrain", "data.train_path=" + (fixture().data / "pretrain.jsonl").string()}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "needs router targets");
  r = run_cli(with(base_args(dir / "b", "joint"), {"data.train_path=" + (dir / "missing.jsonl").string()}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "missing.jsonl");
  r = run_cli(with(base_args(dir / "c", "joint"), {"training.stage=sideways"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "training.stage");
  r = run_cli({"eval", "--run", (dir / "nowhere").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "config.resolved.toml");
}

}  // namespace
}  // namespace elm
