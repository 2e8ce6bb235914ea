#pragma once
// Where tests find the project's Qwen3 tokenizer (and, via scratch_dir.h, write scratch files).
#include <string>

#include "support/scratch_dir.h"
#include "text/tokenizer.h"

namespace elm::testing {

// The real Qwen3 tokenizer that tools/setup.sh exports into data/tokenizers/qwen3.
inline std::string qwen3_tokenizer_dir() { return std::string(ELM_SOURCE_DIR) + "/data/tokenizers/qwen3"; }

// That tokenizer, loaded once per test process.
inline const text::Tokenizer& qwen3_tokenizer() {
  static const text::Tokenizer tokenizer = text::Tokenizer::load(qwen3_tokenizer_dir());
  return tokenizer;
}

}  // namespace elm::testing
