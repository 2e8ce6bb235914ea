#pragma once
// What the multi-rank `explicitlm train` tests share (test_app only: ELM_MPIEXEC comes from
// tests/CMakeLists.txt): the mpiexec command line, the short training file whose epochs end in a
// partial batch, and the relative difference used to compare tensors.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "support/cli_train_fixture.h"

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

}  // namespace elm::testing
