#pragma once
// The small model and synth set the `explicitlm train` CLI tests share, built once per test
// process, and helpers to assemble train arguments and read a run's results.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli_runner.h"
#include "support/scratch_dir.h"

namespace elm::testing {

struct CliTrainFixture {
  std::filesystem::path dir, model, data;
  CliTrainFixture() {
    // ctest runs each test in its own process, in parallel: one fixture per process.
    dir = scratch_dir("cli-train", "fixture-" + std::to_string(::getpid()));
    model = dir / "model";
    data = dir / "data";
    auto r = run_cli({"make-tiny-qwen3", "--out", model.string(), "--hidden-size", "32", "--intermediate-size", "64",
                      "--layers", "2", "--heads", "2", "--kv-heads", "1", "--head-dim", "16", "--dtype", "f32"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = run_cli({"synth", "--out", data.string(), "--seed", "3", "--entities", "20", "--disjoint-entities", "6",
                 "--counterfactuals", "1", "--train-variants", "1"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
};

inline const CliTrainFixture& fixture() {
  static const CliTrainFixture f;
  return f;
}

// tiny.toml with every path pointing into the fixture and an 8 x 8 bank.
inline std::vector<std::string> base_args(const std::filesystem::path& run, const std::string& stage) {
  const auto& f = fixture();
  return {"train", "--config", std::string(ELM_SOURCE_DIR) + "/configs/tiny.toml", "--stage", stage, "--run-dir",
          run.string(), "model.qwen3_model_path=" + f.model.string(),
          "model.database_init_path=" + (f.data / "knowledge.json").string(),
          "model.cache_path=" + (f.dir / "bank.h5").string(), "model.knowledge_num=64",
          "model.num_candidates_internal=8", "model.num_candidates=4", "training.batch_size=4", "training.log_interval=1",
          "logging.level=warning"};
}

inline std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// The JSON summary on the last stdout line.
inline nlohmann::json summary_of(const CliResult& r) {
  auto j = nlohmann::json::parse(r.last_line(), nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

inline std::vector<nlohmann::json> metrics_of(const std::filesystem::path& run) {
  std::ifstream in(run / "metrics.jsonl");
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace elm::testing
