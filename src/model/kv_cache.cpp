#include "model/kv_cache.h"

#include "core/error.h"

namespace elm::model {

KVCache::KVCache(const Qwen3Config& config, int64_t batch, int64_t capacity, torch::ScalarType dtype)
    : batch_(batch), capacity_(capacity) {
  ELM_CHECK(batch > 0 && capacity > 0, "KV cache needs a positive batch and capacity");
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    // Uninitialised: attention only ever reads slots [0, length()), which append() has written.
    keys_.push_back(torch::empty({batch, config.num_key_value_heads, capacity, config.head_dim}, dtype));
    values_.push_back(torch::empty({batch, config.num_key_value_heads, capacity, config.head_dim}, dtype));
  }
  slot_valid_ = torch::zeros({batch, capacity}, torch::kBool);
  next_position_ = torch::zeros({batch}, torch::kInt64);
}

std::pair<torch::Tensor, torch::Tensor> KVCache::append(int64_t layer, const torch::Tensor& k,
                                                        const torch::Tensor& v) {
  ELM_CHECK(layer >= 0 && layer < static_cast<int64_t>(keys_.size()), "KV cache has no layer ", layer);
  const int64_t count = k.size(2);
  ELM_CHECK(length_ + count <= capacity_, "KV cache is full: ", length_, " + ", count,
            " tokens exceed its capacity of ", capacity_, " slots");
  keys_[layer].narrow(2, length_, count).copy_(k);
  values_[layer].narrow(2, length_, count).copy_(v);
  return {keys_[layer].narrow(2, 0, length_ + count), values_[layer].narrow(2, 0, length_ + count)};
}

void KVCache::commit(const torch::Tensor& new_valid) {
  const int64_t count = new_valid.size(1);
  slot_valid_.narrow(1, length_, count).copy_(new_valid);
  next_position_ += new_valid.to(torch::kInt64).sum(1);
  length_ += count;
}

void KVCache::reset() {
  length_ = 0;
  slot_valid_.zero_();
  next_position_.zero_();
}

}  // namespace elm::model
