#pragma once
// What the multi-rank `explicitlm train` tests share (test_app only: ELM_MPIEXEC comes from
// tests/CMakeLists.txt): the mpiexec command line, the short training file whose epochs end in a
// partial batch, the relative difference used to compare tensors, the 3-layer joint-stage run
// and the check that a run on some grid trained like one process.
#include <cmath>
#include <filesystem>
#include <iostream>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "support/cli_train_fixture.h"
#include "train/checkpoint.h"
#include "train/checkpointer.h"

namespace elm::testing {

// mpiexec -n RANKS with the build's flags, one OpenMP thread per rank and `env` ("NAME=value").
inline std::vector<std::string> mpiexec(int ranks, const std::vector<std::string>& env = {}) {
  std::vector<std::string> cmd = {ELM_MPIEXEC, "-n", std::to_string(ranks)};
  std::istringstream flags(ELM_MPIEXEC_FLAGS);
  for (std::string f; flags >> f;) cmd.push_back(f);
  cmd.insert(cmd.end(), {"-x", "OMP_NUM_THREADS=1"});
  for (const auto& e : env) cmd.insert(cmd.end(), {"-x", e});
  return cmd;
}

// The first 21 counterfactual qa records: with batches of 6 every epoch ends in a batch of 3
// rows, which leaves ranks (or pipeline chunks) without a row (the stand-in path).
inline std::filesystem::path short_training_file() {
  const std::filesystem::path path = fixture().dir / "memory_train_21.jsonl";
  if (!std::filesystem::exists(path)) {
    std::ifstream in(fixture().data / "memory_train.jsonl");
    std::ofstream out(path.string() + ".tmp");
    std::string line;
    for (int i = 0; i < 21 && std::getline(in, line); ++i) out << line << "\n";
    out.close();
    std::filesystem::rename(path.string() + ".tmp", path);
  }
  return path;
}

// ||a - b|| / ||a|| in float64.
inline double relative_difference(const torch::Tensor& a, const torch::Tensor& b) {
  const double scale = a.to(torch::kFloat64).norm().item<double>();
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).norm().item<double>() / std::max(scale, 1e-30);
}

// A 3-layer model (so 2 stages split it unevenly) with memory after every layer: gradients have
// to travel back through the frozen layers of the last stage to reach the first stage's memory.
inline const std::filesystem::path& three_layer_model() {
  static const std::filesystem::path path = [] {
    const std::filesystem::path p = fixture().dir / "model3";
    auto r = run_cli({"make-tiny-qwen3", "--out", p.string(), "--hidden-size", "32", "--intermediate-size",
                               "64", "--layers", "3", "--heads", "2", "--kv-heads", "1", "--head-dim", "16", "--dtype",
                               "f32", "--seed", "5"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return p;
  }();
  return path;
}

// Joint stage on counterfactual qa records (bank overrides), dropout, gradient accumulation, the
// router loss, an epoch end in a batch of 3 rows (a stand-in chunk with 2 DP ranks x 2 chunks).
inline std::vector<std::string> joint_args(const std::filesystem::path& run) {
  return with(base_args(run, "joint"),
              {"model.qwen3_model_path=" + three_layer_model().string(), "memory.layers=all",
               "data.format=qa", "data.train_path=" + short_training_file().string(), "training.max_steps=4",
               "training.grad_accum_steps=2", "training.batch_size=6", "model.dropout=0.1",
               "training.router_weight=0.5", "runtime.threads=1", "parallel.timeout_seconds=60",
               "eval.qa_path=" + (fixture().data / "qa_heldout.jsonl").string(), "eval.max_examples=10",
               "checkpoint.interval=1", "checkpoint.keep_latest_k=4"});
}

// The run in `many` trained like the single process in `one`: the same checkpoint at step 4 (step-1
// gradients within 1e-5, parameters within 1e-4), the same bank, the same metrics at every step.
inline void expect_same_training(const std::filesystem::path& one, const std::filesystem::path& many,
                                 const std::string& what) {
  const auto a = train::read_checkpoint(train::resolve_checkpoint_path(one.string()));
  const auto b = train::read_checkpoint(train::resolve_checkpoint_path(many.string()));
  EXPECT_EQ(b.step, 4) << what;
  EXPECT_EQ(a.cursor, b.cursor) << what;
  EXPECT_EQ(a.tokens_seen, b.tokens_seen) << what;
  ASSERT_EQ(a.parameters.size(), b.parameters.size()) << what;
  ASSERT_EQ(a.optimizer.size(), b.optimizer.size()) << what;
  // The gradients of step 1: AdamW's first moment after one step is 0.1 x the (clipped) gradient.
  // Over all parameters together they agree within 1e-5; single tensors whose gradient is a sum of
  // many cancelling terms over the tokens (scalars such as log_scale) keep less precision in f32.
  const std::filesystem::path first_a = one / "checkpoints" / "step-00000001.h5", first_b = many / "checkpoints" / "step-00000001.h5";
  if (std::filesystem::exists(first_b)) {
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


}  // namespace elm::testing
