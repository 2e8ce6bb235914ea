#pragma once
// Helpers of the dataset tests: the real Qwen3 tokenizer and temporary JSONL files.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "support/test_paths.h"
#include "text/tokenizer.h"
#include "train/dataset_formats.h"

namespace elm::train::testutil {

inline const text::Tokenizer& qwen_tokenizer() {
  return ::elm::testing::qwen3_tokenizer();
}

// Writes `content` to a fresh file under the temp directory and returns its path.
inline std::string write_temp(const std::string& name, const std::string& content) {
  auto dir = std::filesystem::temp_directory_path() / ("elm_test_datasets_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

inline std::vector<std::int32_t> cat(std::vector<std::int32_t> a, const std::vector<std::int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// An example of `n` tokens with ids base, base+1, ... and every token a target.
inline Example synthetic_example(std::int32_t base, std::size_t n) {
  Example ex;
  for (std::size_t i = 0; i < n; ++i) ex.input_ids.push_back(base + static_cast<std::int32_t>(i));
  ex.loss_mask.assign(n, 1);
  return ex;
}

}  // namespace elm::train::testutil
