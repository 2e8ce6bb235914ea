#pragma once
// Shared helpers for the text-layer tests.
#include <fstream>
#include <string>
#include <vector>

#include "support/test_paths.h"
#include "text/tokenizer.h"

namespace elm::text::testing {

inline std::string qwen_tokenizer_dir() { return ::elm::testing::qwen3_tokenizer_dir(); }
inline std::string reference_dir() { return ELM_TEST_DATA_DIR "/reference"; }

// The project's Qwen3 tokenizer, loaded once per test process.
inline const Tokenizer& qwen() {
  return ::elm::testing::qwen3_tokenizer();
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace elm::text::testing
