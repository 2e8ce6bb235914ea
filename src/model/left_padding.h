#pragma once
// Batches of prompts for generation: left padding puts every row's last token in the last
// column, so one forward gives every row's next-token logits and the rows decode in lockstep.
// Positions count real tokens only (Qwen3Model::make_context), so padding changes nothing.
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace elm::model {

// [B, T] int64 ids (pad where a row is shorter than T = the longest row) and the [B, T] int64 mask
// (1 = real token).
template <typename Id>
std::pair<torch::Tensor, torch::Tensor> left_padded(const std::vector<std::vector<Id>>& rows, int64_t pad) {
  int64_t T = 0;
  for (const auto& r : rows) T = std::max<int64_t>(T, static_cast<int64_t>(r.size()));
  const auto B = static_cast<int64_t>(rows.size());
  auto ids = torch::full({B, T}, pad, torch::kInt64);
  auto mask = torch::zeros({B, T}, torch::kInt64);
  auto a = ids.accessor<int64_t, 2>();
  auto m = mask.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& r = rows[static_cast<size_t>(b)];
    const int64_t offset = T - static_cast<int64_t>(r.size());
    for (size_t t = 0; t < r.size(); ++t) {
      a[b][offset + static_cast<int64_t>(t)] = static_cast<int64_t>(r[t]);
      m[b][offset + static_cast<int64_t>(t)] = 1;
    }
  }
  return {ids, mask};
}

}  // namespace elm::model
