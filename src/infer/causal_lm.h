#pragma once
// What generation drives: a causal language model that takes [B, T] token ids with a mask and
// returns the logits of each row's last real token, with or without a decode state.
//
//   BackboneLM  a plain Qwen3Model; the state is its KV cache.
//   MemoryLM    an ExplicitLM: memory retrieval at every position, so every decoded token reads the
//               bank; the state is the KV cache plus the query-pooling totals, so with a causal
//               pooling (causal_prefix, weighted_prefix) incremental decoding equals a full forward.
//
// The generator (generator.h) only sees this interface, so plain and memory models share one
// batched decode loop.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "memory/explicit_lm.h"
#include "model/qwen3_model.h"

namespace elm::infer {

// The state incremental decoding carries between calls (KV cache, pooling totals).
class DecodeState {
 public:
  virtual ~DecodeState() = default;
};

class CausalLM {
 public:
  virtual ~CausalLM() = default;
  virtual const model::Qwen3Config& config() const = 0;
  // A state for `batch` rows and up to `capacity` positions (prompt + new tokens).
  virtual std::unique_ptr<DecodeState> new_state(int64_t batch, int64_t capacity) const = 0;
  // ids, mask: [B, T] int64 (mask 1 = real token, 0 = padding). With a state, ids are the new
  // columns only and the state advances; without one (nullptr), ids are the whole sequences.
  // Returns [B, V] float32: the logits at each row's last real token.
  virtual torch::Tensor last_logits(const torch::Tensor& ids, const torch::Tensor& mask, DecodeState* state) = 0;
};

class BackboneLM final : public CausalLM {
 public:
  explicit BackboneLM(const model::Qwen3Model& model) : model_(model) {}
  const model::Qwen3Config& config() const override { return model_.config(); }
  std::unique_ptr<DecodeState> new_state(int64_t batch, int64_t capacity) const override;
  torch::Tensor last_logits(const torch::Tensor& ids, const torch::Tensor& mask, DecodeState* state) override;

 private:
  const model::Qwen3Model& model_;
};

// Called after each forward of a MemoryLM with the memory layers' outputs (candidates, selected
// entries, alpha, token validity of the columns that call ran on).
using MemoryObserver = std::function<void(const std::vector<memory::MemoryLayerOutput>& layers)>;

class MemoryLM final : public CausalLM {
 public:
  // The model runs in eval mode (argmax selection, no dropout); it must outlive this object.
  explicit MemoryLM(memory::ExplicitLM& lm);
  const model::Qwen3Config& config() const override { return lm_.backbone().config(); }
  std::unique_ptr<DecodeState> new_state(int64_t batch, int64_t capacity) const override;
  torch::Tensor last_logits(const torch::Tensor& ids, const torch::Tensor& mask, DecodeState* state) override;

  void set_observer(MemoryObserver observer) { observer_ = std::move(observer); }
  memory::ExplicitLM& model() { return lm_; }

 private:
  memory::ExplicitLM& lm_;
  MemoryObserver observer_;
};

// The entries the memory layers selected for real tokens, in order (layer, row, position, k):
// what an inference run counts as "used" (bank update policies lru and importance).
std::vector<int64_t> selected_entries(const std::vector<memory::MemoryLayerOutput>& layers);

}  // namespace elm::infer
