#pragma once
// A padded batch of examples as tensors, ready for next-token prediction.
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "train/dataset.h"

namespace elm::train {

inline constexpr std::int64_t kIgnoreIndex = -100;

struct Batch {
  // [B, T] int64, T = the longest example in the batch; right-padded with the pad id.
  torch::Tensor input_ids;
  // [B, T] int64: 1 for real tokens, 0 for padding.
  torch::Tensor attention_mask;
  // [B, T] int64, already shifted: targets[b][t] = input_ids[b][t + 1] when that token is a
  // prediction target (Example::loss_mask), else kIgnoreIndex (-100; always at the last real
  // position and on padding). The logits at position t are scored against targets[b][t].
  torch::Tensor targets;
  // [B, T] float32: 1 where targets != -100, else 0.
  torch::Tensor loss_mask;
  // When any example names bank entries (router format; qa records with "index"), else undefined:
  // [B, K] int64 bank indices, K = the most targets of any example in the batch, padded with -1;
  // and [B, K] float32 scores, padded with 0.
  torch::Tensor target_indices;
  torch::Tensor target_scores;
  // The dataset index of each row.
  std::vector<std::int64_t> example_indices;

  std::int64_t size() const { return static_cast<std::int64_t>(example_indices.size()); }
};

// Builds the batch of data.at(i) for i in `indices` (non-empty).
Batch collate(const Dataset& data, const std::vector<std::int64_t>& indices, std::int32_t pad_id);

}  // namespace elm::train
