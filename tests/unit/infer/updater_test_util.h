#pragma once
// Fixtures for the bank updater tests: small banks built with the real Qwen3 tokenizer, distinct
// fact texts, a random embedding table with a common direction (the narrow cone real embeddings
// have), and copies of bank state to compare against.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "memory/bank.h"
#include "memory/projection.h"
#include "support/test_paths.h"
#include "text/tokenizer.h"

namespace elm::infer::testing {

inline const text::Tokenizer& tokenizer() { return elm::testing::qwen3_tokenizer(); }
inline int64_t pad_id() { return memory::default_pad_id(tokenizer()); }

// A fact text that differs for every k (names, cities and numbers vary).
inline std::string fact_text(int64_t k) {
  static const char* names[] = {"Pundil", "Marou", "Kesta", "Talvi", "Orsen", "Bruna", "Ilmar", "Zofia"};
  static const char* cities[] = {"Lisbon", "Oslo", "Cairo", "Tokyo", "Dublin", "Prague", "Vienna"};
  return std::string(names[k % 8]) + " " + std::to_string(k) + " lives in " + cities[(k / 8) % 7] + ".";
}

// N entries, the first `filled` holding fact_text(0..filled-1), the rest empty (invalid).
inline memory::MemoryBank make_bank(int64_t n, int64_t filled, int64_t length = 8) {
  std::vector<std::string> facts;
  for (int64_t k = 0; k < filled; ++k) facts.push_back(fact_text(k));
  return memory::build_bank(facts, tokenizer(), n, length, pad_id());
}

// [V, d] float32: a shared direction (weight `cone`) plus Gaussian noise per token, seeded.
inline torch::Tensor cone_embeddings(int64_t vocab, int64_t dim, double cone, uint64_t seed) {
  auto gen = memory::make_generator(seed);
  auto noise = torch::randn({vocab, dim}, gen, torch::kFloat32);
  auto common = torch::randn({1, dim}, gen, torch::kFloat32);
  common = common / common.norm();
  return noise / std::sqrt(static_cast<double>(dim)) + cone * common;
}

struct BankSnapshot {
  torch::Tensor tokens, valid;
  std::vector<std::string> texts;
  std::vector<int32_t> token_counts;
};
inline BankSnapshot snapshot(const memory::MemoryBank& b) {
  return {b.tokens.clone(), b.valid.clone(), b.texts, b.token_counts};
}

inline std::vector<int32_t> row_ids(const memory::MemoryBank& b, int64_t i) {
  auto r = b.tokens[i].contiguous();
  return std::vector<int32_t>(r.data_ptr<int32_t>(), r.data_ptr<int32_t>() + r.numel());
}


}  // namespace elm::infer::testing
