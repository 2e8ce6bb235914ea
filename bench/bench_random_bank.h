#pragma once
// The random bank the memory benchmarks share: N entries of 1..L random ids in [1, vocab) (pad 0
// after the end), all valid, the same for a seed.
#include <cstdint>
#include <memory>

#include <torch/torch.h>

#include "memory/bank_reader.h"
#include "memory/projection.h"

namespace elm::bench {

inline std::shared_ptr<memory::LocalBankReader> random_bank(int64_t vocab, int64_t n, int64_t len, uint64_t seed = 7) {
  auto gen = memory::make_generator(seed);
  auto tokens = torch::randint(1, vocab, {n, len}, gen, torch::kInt64);
  auto lengths = torch::randint(1, len + 1, {n}, gen, torch::kInt64);
  tokens.masked_fill_(torch::arange(len, torch::kInt64).unsqueeze(0) >= lengths.unsqueeze(1), 0);
  return std::make_shared<memory::LocalBankReader>(tokens.to(torch::kInt32), torch::ones({n}, torch::kBool), 0);
}

}  // namespace elm::bench
