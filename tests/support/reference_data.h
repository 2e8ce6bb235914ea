#pragma once
// Loads the llama.cpp reference data (tests/data/reference/qwen3-tiny-ref, see its README.md).
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "model/qwen3_model.h"

namespace elm::testing {

inline std::string reference_dir() { return std::string(ELM_TEST_DATA_DIR) + "/reference"; }
inline std::string tiny_model_dir() { return reference_dir() + "/qwen3-tiny"; }

template <class T>
std::vector<T> read_raw(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  const auto size = static_cast<size_t>(in.tellg());
  std::vector<T> out(size / sizeof(T));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size() * sizeof(T)));
  return out;
}

// The reference tiny model loaded once per test binary, computed in f32.
inline const model::Qwen3Model& reference_tiny_f32() {
  static const model::Qwen3Model model = model::Qwen3Model::load(tiny_model_dir(), torch::kFloat32);
  return model;
}

inline nlohmann::json reference_manifest() {
  std::ifstream in(reference_dir() + "/qwen3-tiny-ref/manifest.json");
  return nlohmann::json::parse(in);
}

struct ReferenceSequence {
  std::string name;
  std::vector<int64_t> ids;
  std::vector<int64_t> full_row_positions;
  std::vector<float> full_rows;         // [R, V]
  std::vector<float> cols16;            // [T, V/16]
  std::vector<int64_t> greedy_ids;      // [24]
  std::vector<float> greedy_step_cols;  // [24, V/16]
};

inline ReferenceSequence load_reference_sequence(const std::string& name) {
  const auto manifest = reference_manifest();
  const auto& seq = manifest["sequences"][name];
  const std::string dir = reference_dir() + "/qwen3-tiny-ref/";
  ReferenceSequence r;
  r.name = name;
  for (int32_t id : read_raw<int32_t>(dir + name + ".ids.i32")) r.ids.push_back(id);
  r.full_row_positions = seq["logits_full_rows"]["positions"].get<std::vector<int64_t>>();
  r.full_rows = read_raw<float>(dir + name + ".logits_full_rows.f32");
  r.cols16 = read_raw<float>(dir + name + ".logits_cols16.f32");
  for (int32_t id : read_raw<int32_t>(dir + name + ".greedy_ids.i32")) r.greedy_ids.push_back(id);
  r.greedy_step_cols = read_raw<float>(dir + name + ".greedy_step_logits_cols16.f32");
  return r;
}

// Max |ours - reference| over the column subset (every 16th vocab id) of the first `rows` rows.
inline double max_cols16_error(const torch::Tensor& ours, const std::vector<float>& ref, int64_t rows) {
  constexpr int64_t kStride = 16;
  const int64_t cols = (ours.size(1) + kStride - 1) / kStride;
  EXPECT_EQ(ref.size(), static_cast<size_t>(rows * cols));
  auto expected = torch::from_blob(const_cast<float*>(ref.data()), {rows, cols}, torch::kFloat32);
  auto subset = ours.index({torch::indexing::Slice(0, rows), torch::indexing::Slice(0, torch::indexing::None, kStride)});
  return (subset - expected).abs().max().item<double>();
}

}  // namespace elm::testing
