#pragma once
// Key/value cache for incremental decoding: keys are stored after q/k-norm and RoPE, so a decode
// step only computes the new token's projections. Slots are preallocated up to `capacity`.
#include <cstdint>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "model/qwen3_config.h"

namespace elm::model {

class KVCache {
 public:
  KVCache(const Qwen3Config& config, int64_t batch, int64_t capacity, torch::ScalarType dtype);

  int64_t batch() const { return batch_; }
  int64_t capacity() const { return capacity_; }
  int64_t length() const { return length_; }  // slots already committed

  // Writes `count` new slots of layer `layer` starting at length() and returns views of all slots
  // [0, length()+count) for that layer: keys and values [B, n_kv, S, head_dim].
  std::pair<torch::Tensor, torch::Tensor> append(int64_t layer, const torch::Tensor& keys,
                                                 const torch::Tensor& values);

  // Validity of each slot per row ([B, capacity], bool) and the next RoPE position per row ([B]).
  const torch::Tensor& slot_valid() const { return slot_valid_; }
  const torch::Tensor& next_position() const { return next_position_; }

  // Called once per forward, after every layer appended: marks the new slots valid where
  // `new_valid` ([B, T] bool) says so and advances positions by the number of valid new tokens.
  void commit(const torch::Tensor& new_valid);
  void reset();

 private:
  int64_t batch_, capacity_, length_ = 0;
  std::vector<torch::Tensor> keys_, values_;
  torch::Tensor slot_valid_, next_position_;
};

}  // namespace elm::model
