#pragma once
// Small ExplicitLM fixtures shared by the memory tests: a 3-layer random Qwen3 backbone (hidden
// 32, vocab 256), a 64-entry bank with invalid and all-padding entries, and a matching memory
// config. Deterministic: the same call gives the same tensors.
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "memory/bank_reader.h"
#include "memory/memory_config.h"
#include "memory/projection.h"
#include "model/qwen3_model.h"
#include "model/tiny_qwen3.h"

namespace elm::testing {

inline model::Qwen3Config small_config() {
  model::Qwen3Config c = model::TinyQwen3Options::tiny_qwen3_config();
  c.vocab_size = 256;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 128;
  return c;
}

// Built once per test binary (random weights, seed 3, f32).
inline std::shared_ptr<const model::Qwen3Model> small_backbone() {
  static auto m = std::make_shared<const model::Qwen3Model>(small_config(), model::random_qwen3_weights(small_config(), 3),
                                                            torch::kFloat32);
  return m;
}

inline constexpr int64_t kPad = 0;

// N entries of length L with random lengths; entries 5 and 9 are all padding and flagged invalid,
// entry 11 is all padding but flagged valid (it must still never be selected).
inline std::shared_ptr<memory::LocalBankReader> small_bank(int64_t vocab = 256, int64_t n = 64, int64_t len = 4,
                                                           uint64_t seed = 1) {
  auto gen = memory::make_generator(seed);
  auto tokens = torch::randint(1, vocab, {n, len}, gen, torch::kInt64);
  auto lengths = torch::randint(1, len + 1, {n}, gen, torch::kInt64);
  auto pos = torch::arange(len, torch::kInt64).unsqueeze(0);
  tokens.masked_fill_(pos >= lengths.unsqueeze(1), kPad);
  auto valid = torch::ones({n}, torch::kBool);
  for (int64_t e : {5, 9, 11}) tokens[e].fill_(kPad);
  valid[5] = false;
  valid[9] = false;
  return std::make_shared<memory::LocalBankReader>(tokens, valid, kPad);
}

inline memory::MemoryConfig small_memory(memory::QueryPooling pooling = memory::QueryPooling::kCausalPrefix,
                                         int64_t hidden = 32, std::vector<int64_t> layers = {0, 1, 2}) {
  memory::MemoryConfig m;
  m.hidden_size = hidden;
  m.knowledge_num = 64;
  m.knowledge_length = 4;
  m.knowledge_dim = 8;
  m.num_candidates = 4;
  m.num_candidates_internal = 4;
  m.dropout = 0.0;
  m.layers = std::move(layers);
  m.pooling = pooling;
  return m;
}

// One row [1, T].
inline torch::Tensor ids_tensor(const std::vector<int64_t>& ids) {
  return torch::tensor(ids, torch::kInt64).unsqueeze(0);
}

}  // namespace elm::testing
