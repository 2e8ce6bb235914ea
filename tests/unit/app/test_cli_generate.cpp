// `explicitlm generate` and `explicitlm chat` on a trained memory run: JSONL prompts in, JSONL
// results out in input order, --checkpoint alone equals --run, two MPI ranks equal one process,
// the training run is left untouched, and bad input exits 1 naming what is wrong.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/assertions.h"
#include "support/cli_mpi_train.h"
#include "support/cli_runner.h"
#include "support/cli_train_fixture.h"
#include "support/scratch_dir.h"
#include "memory/bank.h"
#include "train/checkpointer.h"

namespace elm {
namespace {

namespace fs = std::filesystem;
using testing::base_args;
using testing::fixture;
using testing::run_cli;
using testing::with;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<nlohmann::json> jsonl(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

// A router run of 2 steps on the shared fixture (one per test process).
const fs::path& trained_run() {
  static const fs::path run = [] {
    const fs::path dir = testing::scratch_dir("cli-generate", "run-" + std::to_string(::getpid())) / "router";
    auto r = run_cli(with(base_args(dir, "router"),
                          {"data.format=router", "data.train_path=" + (fixture().data / "router_train.jsonl").string(),
                           "training.max_steps=2"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return dir;
  }();
  return run;
}

fs::path prompts_file(const fs::path& dir) {
  const fs::path p = dir / "prompts.jsonl";
  std::ofstream out(p);
  for (int i = 0; i < 5; ++i) {
    out << nlohmann::json{{"id", "q" + std::to_string(i)}, {"prompt", "Question: where does entity " +
                                                                           std::to_string(i) + " live?\nAnswer:"}}
               .dump()
        << "\n";
  }
  out << "{\"ids\": [1, 2, 3]}\n";
  return p;
}

std::vector<std::string> generate_args(const fs::path& prompts, const fs::path& out) {
  return {"generate", "--run", trained_run().string(), "--prompts", prompts.string(), "--output", out.string(),
          "--greedy", "--max-new-tokens", "3", "--batch-size", "2", "logging.level=warning"};
}

TEST(CliGenerate, PromptsFileGivesOneResultPerLineInOrderAndLeavesTheRunAlone) {
  const auto dir = testing::scratch_dir("cli-generate", "jsonl");
  const std::string config_before = read_file(trained_run() / "config.resolved.toml");
  const auto out = dir / "results.jsonl";
  auto r = run_cli(generate_args(prompts_file(dir), out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << "results go to --output, not stdout";
  const auto results = jsonl(read_file(out));
  ASSERT_EQ(results.size(), 6u);
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i]["index"], static_cast<int64_t>(i));
    EXPECT_EQ(results[i]["tokens"].size(), 3u);
    EXPECT_EQ(results[i]["round"], static_cast<int64_t>(i / 2));
    if (i < 5) EXPECT_EQ(results[i]["id"], "q" + std::to_string(i));
  }
  EXPECT_EQ(results[5]["prompt_tokens"], 3);
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));
  EXPECT_EQ(read_file(trained_run() / "config.resolved.toml"), config_before);

  // Without --output the same lines go to stdout.
  auto args = generate_args(prompts_file(dir), out);
  args.erase(args.begin() + 5, args.begin() + 7);
  auto s = run_cli(args);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const auto printed = jsonl(s.out);
  ASSERT_EQ(printed.size(), 6u);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(printed[i]["tokens"], results[i]["tokens"]);
}

TEST(CliGenerate, CheckpointAloneEqualsTheRunAndTwoRanksEqualOneProcess) {
  const auto dir = testing::scratch_dir("cli-generate", "sources");
  const auto prompts = prompts_file(dir);
  auto one = run_cli(generate_args(prompts, dir / "one.jsonl"));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const auto expected = jsonl(read_file(dir / "one.jsonl"));

  const std::string checkpoint = train::resolve_checkpoint_path(trained_run().string());
  auto args = generate_args(prompts, dir / "ckpt.jsonl");
  args[1] = "--checkpoint";
  args[2] = checkpoint;
  auto c = run_cli(args);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const auto from_checkpoint = jsonl(read_file(dir / "ckpt.jsonl"));

  auto m = testing::run_cli_with(testing::mpiexec(2), generate_args(prompts, dir / "two.jsonl"));
  ASSERT_EQ(m.exit_code, 0) << m.err;
  const auto two = jsonl(read_file(dir / "two.jsonl"));
  ASSERT_EQ(from_checkpoint.size(), expected.size());
  ASSERT_EQ(two.size(), expected.size());
  std::set<int> ranks;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(from_checkpoint[i]["tokens"], expected[i]["tokens"]) << i;
    EXPECT_EQ(two[i]["tokens"], expected[i]["tokens"]) << i;
    EXPECT_EQ(two[i]["index"], static_cast<int64_t>(i));
    ranks.insert(two[i]["rank"].get<int>());
  }
  EXPECT_EQ(ranks, (std::set<int>{0, 1}));
}

TEST(CliGenerate, BadInputExitsOneNamingTheProblem) {
  const auto dir = testing::scratch_dir("cli-generate", "errors");
  auto both = run_cli({"generate", "--run", trained_run().string(), "--prompt", "a", "--ids", "1"});
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_CONTAINS(both.err, "exactly one of --prompt, --ids or --prompts");

  auto model_and_run = run_cli({"generate", "--run", trained_run().string(), "--model", fixture().model.string(),
                                "--ids", "1"});
  EXPECT_EQ(model_and_run.exit_code, 1);
  EXPECT_CONTAINS(model_and_run.err, "--model is a plain Qwen3");

  const auto bad = dir / "bad.jsonl";
  std::ofstream(bad) << "{\"prompt\": \"ok\"}\n{\"prompt\": 3}\n";
  auto b = run_cli({"generate", "--run", trained_run().string(), "--prompts", bad.string()});
  EXPECT_EQ(b.exit_code, 1);
  EXPECT_CONTAINS(b.err, bad.string() + ":2: \"prompt\" must be a string");

  auto missing = run_cli({"generate", "--run", (dir / "nowhere").string(), "--ids", "1"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_CONTAINS(missing.err, "nowhere");
}

// Requests whose text states facts (and asks a question, which is not a fact).
fs::path fact_prompts(const fs::path& dir) {
  const fs::path p = dir / "facts.jsonl";
  std::ofstream out(p);
  for (int i = 0; i < 7; ++i) {
    out << nlohmann::json{{"prompt", "Entity number " + std::to_string(i) + " lives in city " + std::to_string(7 * i) +
                                         ". Where does it live?"}}
               .dump()
        << "\n";
  }
  return p;
}

TEST(CliGenerate, DualPathAtThreeRanksLeavesTheBankOneProcessLeaves) {
  const auto dir = testing::scratch_dir("cli-generate", "dual");
  const auto prompts = fact_prompts(dir);
  auto args = [&](const std::string& tag) {
    return std::vector<std::string>{"generate", "--run", trained_run().string(), "--prompts", prompts.string(),
                                    "--output", (dir / (tag + ".jsonl")).string(), "--greedy", "--max-new-tokens", "1",
                                    "--batch-size", "1", "--dual-path", "--extractor", "passthrough", "--policy", "fifo", "--bank-out",
                                    (dir / (tag + ".h5")).string(), "--updates-out",
                                    (dir / (tag + "-updates.jsonl")).string(), "model.freeze_ratio=0.25",
                                    "logging.level=warning"};
  };
  auto one = run_cli(args("one"));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  auto three = testing::run_cli_with(testing::mpiexec(3), args("three"));
  ASSERT_EQ(three.exit_code, 0) << three.err;

  const auto a = memory::load_bank((dir / "one.h5").string());
  const auto b = memory::load_bank((dir / "three.h5").string());
  EXPECT_TRUE(torch::equal(a.tokens, b.tokens));
  EXPECT_TRUE(torch::equal(a.valid, b.valid));
  EXPECT_EQ(a.texts, b.texts);
  // Every fact is in the bank once, none of the questions, nothing in the frozen quarter changed.
  const auto original = memory::load_bank((fixture().dir / "bank.h5").string());
  for (int i = 0; i < 7; ++i) {
    const std::string fact = "Entity number " + std::to_string(i) + " lives in city " + std::to_string(7 * i) + ".";
    EXPECT_EQ(memory::find_entries(b, fact).size(), 1u) << fact;
  }
  EXPECT_TRUE(memory::find_entries(b, "Where does it live?").empty());
  EXPECT_TRUE(torch::equal(a.tokens.narrow(0, 0, 16), original.tokens.narrow(0, 0, 16)));
  // Every update of the 3-rank run was verified on 3 replicas; each write names its entry and texts.
  const auto updates = jsonl(read_file(dir / "three-updates.jsonl"));
  ASSERT_FALSE(updates.empty());
  int64_t writes = 0;
  for (const auto& u : updates) {
    EXPECT_EQ(u["replicas_verified"], 3);
    for (const auto& w : u["writes"]) {
      ++writes;
      EXPECT_GE(w["index"].get<int64_t>(), 16);
      EXPECT_TRUE(w.contains("old_text"));
      EXPECT_EQ(b.texts[w["index"].get<size_t>()], w["new_text"].get<std::string>());
    }
  }
  EXPECT_EQ(writes, 7);
  // Each result names the facts its request gave.
  const auto results = jsonl(read_file(dir / "three.jsonl"));
  ASSERT_EQ(results.size(), 7u);
  EXPECT_EQ(results[4]["ingest"]["facts"][0], "Entity number 4 lives in city 28.");
}

TEST(CliGenerate, DualPathNeedsAMemoryModel) {
  auto r = run_cli({"generate", "--model", fixture().model.string(), "--ids", "1", "--dual-path"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "the dual path writes into a memory bank");
  auto b = run_cli({"generate", "--run", trained_run().string(), "--ids", "1", "--bank-out", "/tmp/x.h5"});
  EXPECT_EQ(b.exit_code, 1);
  EXPECT_CONTAINS(b.err, "--bank-out and --updates-out need the dual path");
  // The extractor is the LLMLingua-2 model unless passthrough is chosen: no model is an error.
  auto e = run_cli({"generate", "--run", trained_run().string(), "--ids", "1", "--dual-path"});
  EXPECT_EQ(e.exit_code, 1);
  EXPECT_CONTAINS(e.err, "extractor.model_path is empty");
  EXPECT_CONTAINS(e.err, "--extractor passthrough");
  // A run resolved when passthrough was the default stores it: the stored value is not a choice.
  const auto old = testing::scratch_dir("cli-generate", "old-run") / "router";
  fs::remove_all(old);
  fs::copy(trained_run(), old, fs::copy_options::recursive);
  std::string toml = read_file(old / "config.resolved.toml");
  const auto at = toml.find("kind = \"llmlingua2\"", toml.find("[extractor]"));
  ASSERT_NE(at, std::string::npos);
  toml.replace(at, std::string("kind = \"llmlingua2\"").size(), "kind = \"passthrough\"");
  std::ofstream(old / "config.resolved.toml") << toml;
  auto o = run_cli({"generate", "--run", old.string(), "--ids", "1", "--dual-path", "--max-new-tokens", "1"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_CONTAINS(o.err, "extractor.model_path is empty");
  o = run_cli({"generate", "--run", old.string(), "--ids", "1", "--dual-path", "--max-new-tokens", "1",
               "--extractor", "passthrough", "logging.level=warning"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
}

TEST(CliChat, AnswersEachLineAndResets) {
  // sh -c '<feed> | exec "$0" "$@"' explicitlm chat ...: stdin comes from printf.
  const std::vector<std::string> feed = {"sh", "-c", "printf 'hello\\n\\n/reset\\nagain\\n/quit\\nnever\\n' | exec \"$0\" \"$@\""};
  auto r = testing::run_cli_with(feed, {"chat", "--run", trained_run().string(), "--greedy", "--max-new-tokens", "2",
                                        "logging.level=warning"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Two replies (each followed by an empty line), the reset notice, nothing after /quit.
  EXPECT_CONTAINS(r.out, "(conversation reset)");
  size_t blank_lines = 0;
  for (size_t p = r.out.find("\n\n"); p != std::string::npos; p = r.out.find("\n\n", p + 2)) ++blank_lines;
  EXPECT_EQ(blank_lines, 3u);
  auto plain = testing::run_cli_with(feed, {"chat", "--model", fixture().model.string(), "--greedy",
                                            "--max-new-tokens", "2", "logging.level=warning"});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
}

TEST(CliChat, DualPathWritesEachMessageBeforeTheNextTurn) {
  const auto dir = testing::scratch_dir("cli-chat", "dual");
  const std::vector<std::string> feed = {
      "sh", "-c",
      "printf 'Zorblat the brave lives in Quuxtown now.\\nWhere does Zorblat live?\\n' | exec \"$0\" \"$@\""};
  auto r = testing::run_cli_with(feed, {"chat", "--run", trained_run().string(), "--greedy", "--max-new-tokens", "2",
                                        "--dual-path", "--extractor", "passthrough", "--policy", "fifo",
                                        "--bank-out", (dir / "bank.h5").string(), "model.freeze_ratio=0.25",
                                        "logging.level=warning"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto bank = memory::load_bank((dir / "bank.h5").string());
  const auto original = memory::load_bank((fixture().dir / "bank.h5").string());
  // The statement became an entry outside the frozen quarter; the question did not.
  const auto found = memory::find_entries(bank, "Zorblat the brave lives in Quuxtown now.");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_GE(found[0], bank.num_entries / 4);
  EXPECT_TRUE(memory::find_entries(bank, "Where does Zorblat live?").empty());
  EXPECT_TRUE(memory::find_entries(original, "Zorblat the brave lives in Quuxtown now.").empty());
}

}  // namespace
}  // namespace elm
