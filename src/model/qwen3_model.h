#pragma once
// The Qwen3 decoder (HF Qwen3ForCausalLM semantics): embedding, pre-norm decoder layers with
// q/k-norm, RoPE and grouped-query attention, SwiGLU MLP, final norm, (tied) lm_head.
// Forward works on padded batches and with or without a KV cache; later layers of the system
// insert work between decoder layers through a LayerHook.
#include <functional>
#include <string>

#include <torch/torch.h>

#include "model/kv_cache.h"
#include "model/qwen3_config.h"
#include "model/qwen3_weights.h"

namespace elm::model {

// Where logits are computed: the vocabulary is 151,936 wide, so callers ask only for what they use.
enum class LogitsMode { kAll, kLast, kNone };

// Per-forward attention state shared by every layer: RoPE tables and the additive mask.
struct AttentionContext {
  torch::Tensor cos, sin;  // [B, T, head_dim]
  torch::Tensor mask;      // [B, 1, T, S] additive, S = past + T
  torch::Tensor valid;     // [B, T] bool: which new tokens are real (not padding)
  torch::Tensor positions; // [B, T] int64
  KVCache* cache = nullptr;
};

struct ForwardOptions {
  torch::Tensor attention_mask;  // [B, T] (1 = token, 0 = padding); undefined = all tokens
  KVCache* cache = nullptr;      // when set, past slots are attended to and new ones appended
  LogitsMode logits = LogitsMode::kAll;
  // Called after decoder layer `layer` with its output; returns the (possibly changed) hidden state.
  std::function<torch::Tensor(int64_t layer, const torch::Tensor& hidden, const AttentionContext&)> after_layer;
};

struct ForwardResult {
  torch::Tensor logits;  // f32: [B, T, V] (kAll), [B, V] (kLast: last real token of each row), undefined (kNone)
  torch::Tensor hidden;  // [B, T, H] after the final norm, in the compute dtype
};

class Qwen3Model {
 public:
  Qwen3Model(Qwen3Config config, Qwen3Weights weights, torch::ScalarType dtype);

  // Loads config.json and the safetensors weights of an HF model directory (or index/single file).
  static Qwen3Model load(const std::string& model_dir, torch::ScalarType dtype);

  const Qwen3Config& config() const { return config_; }
  const Qwen3Weights& weights() const { return weights_; }
  torch::ScalarType dtype() const { return dtype_; }

  ForwardResult forward(const torch::Tensor& input_ids, const ForwardOptions& options = {}) const;

  // The pieces of forward(), for callers that run a subset of layers.
  AttentionContext make_context(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                KVCache* cache) const;
  torch::Tensor embed(const torch::Tensor& input_ids) const;
  torch::Tensor decoder_layer(int64_t layer, const torch::Tensor& hidden, const AttentionContext& ctx) const;
  torch::Tensor final_norm(const torch::Tensor& hidden) const;
  torch::Tensor lm_head(const torch::Tensor& normed_hidden) const;  // f32 logits
  KVCache new_cache(int64_t batch, int64_t capacity) const;

 private:
  Qwen3Config config_;
  Qwen3Weights weights_;
  torch::ScalarType dtype_;
  torch::Tensor inv_freq_;
};

// "float32"/"f32" -> kFloat32, "bfloat16"/"bf16" -> kBFloat16; anything else is an error naming it.
torch::ScalarType parse_compute_dtype(const std::string& name);

}  // namespace elm::model
