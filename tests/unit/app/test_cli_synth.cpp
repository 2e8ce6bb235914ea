// `explicitlm synth`: writes its files, the same seed twice gives identical bytes, `bank build`
// accepts the knowledge base it writes, and bad options exit 1 with a message.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/assertions.h"
#include "support/cli_runner.h"
#include "support/test_paths.h"

namespace elm {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

fs::path scratch(const std::string& name) {
  fs::path dir = fs::path(ELM_BINARY_DIR) / "test-tmp" / "cli-synth" / name;
  fs::remove_all(dir);
  return dir;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const char* kFiles[] = {"knowledge.json",     "qa_train.jsonl",     "qa_heldout.jsonl", "pretrain.jsonl",
                        "counterfactual.jsonl", "memory_train.jsonl", "router_train.jsonl", "backbone_train.jsonl",
                        "entities.json",      "manifest.json"};

testing::CliResult synth(const fs::path& out, const std::string& seed) {
  return run_cli({"synth", "--out", out.string(), "--seed", seed, "--entities", "40", "--disjoint-entities", "30",
                  "--counterfactuals", "2"});
}

TEST(CliSynth, WritesFilesDeterministically) {
  const auto a = scratch("a"), b = scratch("b"), c = scratch("c");
  auto r = synth(a, "17");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = nlohmann::json::parse(r.last_line());
  EXPECT_EQ(summary["seed"], 17);
  EXPECT_EQ(summary["entities"], 40);
  EXPECT_EQ(summary["disjoint_entities"], 30);
  EXPECT_EQ(summary["lines"]["knowledge.json"], 40);
  EXPECT_EQ(summary["lines"]["counterfactual.jsonl"], 80);
  EXPECT_EQ(summary["lines"]["qa_train.jsonl"], 40 * 12);
  EXPECT_EQ(summary["lines"]["qa_heldout.jsonl"], 40 * 6);
  EXPECT_EQ(summary["lines"]["memory_train.jsonl"], 40 * 12 * (1 + 4));  // truth + 4 training variants
  EXPECT_EQ(summary["lines"]["router_train.jsonl"], 40 * (12 + 1));       // train prompts + the fact
  EXPECT_EQ(summary["lines"]["backbone_train.jsonl"], 30 * 27);            // disjoint: 3 cloze + 12 x 2 questions
  EXPECT_EQ(summary["files"].size(), 10u);

  r = synth(b, "17");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = synth(c, "18");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : kFiles) {
    ASSERT_TRUE(fs::exists(a / f)) << f;
    EXPECT_FALSE(fs::exists(a / (std::string(f) + ".tmp"))) << f;
    EXPECT_EQ(read(a / f), read(b / f)) << f;
  }
  EXPECT_NE(read(a / "knowledge.json"), read(c / "knowledge.json"));
  EXPECT_EQ(nlohmann::json::parse(read(a / "manifest.json"))["seed"], 17);
}

TEST(CliSynth, BankBuildAcceptsTheKnowledgeBase) {
  const auto dir = scratch("bank");
  auto r = synth(dir, "3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string bank = (dir / "bank.h5").string();
  r = run_cli({"bank", "build", "--kb", (dir / "knowledge.json").string(), "--tokenizer",
               testing::qwen3_tokenizer_dir(), "--knowledge-num", "64", "--knowledge-length",
               "16", "--out", bank});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.last_line())["facts"], 40);
  ASSERT_TRUE(fs::exists(bank));

  // Entry 0 decodes to the first fact sentence, untruncated.
  const auto kb = nlohmann::json::parse(read(dir / "knowledge.json"));
  r = run_cli({"bank", "show", bank, "--index", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "decoded: " + kb[0]["sentence"].get<std::string>());
}

TEST(CliSynth, BadOptionsExitOne) {
  const auto bad = scratch("bad");
  auto r = run_cli({"synth", "--out", bad.string(), "--entities", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "--entities must be > 0");
  EXPECT_FALSE(fs::exists(bad / "knowledge.json"));

  r = run_cli({"synth", "--out", bad.string(), "--entities", "1000000"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "unique names");
  EXPECT_FALSE(fs::exists(bad / "knowledge.json"));

  r = run_cli({"synth", "--out", bad.string(), "--entities", "many"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "--entities");

  r = run_cli({"synth", "--seed", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "--out");

  r = run_cli({"synth", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_CONTAINS(r.out, "--disjoint-entities");
  EXPECT_CONTAINS(r.out, "explicitlm synth --out");
}

}  // namespace
}  // namespace elm
