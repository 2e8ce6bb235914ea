#pragma once
// The frozen Qwen3 tensors, named as HuggingFace names them, loaded from safetensors.
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "model/qwen3_config.h"

namespace elm::io {
class SafetensorsCheckpoint;
}

namespace elm::model {

struct Qwen3LayerWeights {
  torch::Tensor input_layernorm;           // [H]
  torch::Tensor q_proj, k_proj, v_proj;    // [nh*hd, H], [nkv*hd, H], [nkv*hd, H]
  torch::Tensor o_proj;                    // [H, nh*hd]
  torch::Tensor q_norm, k_norm;            // [hd]
  torch::Tensor post_attention_layernorm;  // [H]
  torch::Tensor gate_proj, up_proj;        // [I, H]
  torch::Tensor down_proj;                 // [H, I]
};

struct Qwen3Weights {
  torch::Tensor embed_tokens;  // [V, H]
  std::vector<Qwen3LayerWeights> layers;
  torch::Tensor norm;     // [H]
  torch::Tensor lm_head;  // [V, H]; undefined when tied to embed_tokens

  const torch::Tensor& output_projection() const { return lm_head.defined() ? lm_head : embed_tokens; }
  // Every tensor with its HF name, in a stable order (embed, layers, norm, lm_head).
  std::vector<std::pair<std::string, torch::Tensor>> named_tensors() const;
  Qwen3Weights to(torch::ScalarType dtype) const;
};

// The HF names and shapes a Qwen3 checkpoint with this config must hold (lm_head excluded).
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_qwen3_tensors(const Qwen3Config& config);

// Loads and checks every tensor (names, shapes, dtypes BF16/F16/F32); converts to `dtype`
// (kFloat32 or kBFloat16). lm_head.weight is used when present, else the embedding is tied.
Qwen3Weights load_qwen3_weights(const io::SafetensorsCheckpoint& checkpoint, const Qwen3Config& config,
                                torch::ScalarType dtype, const std::string& origin);

// Random weights with the scale of a freshly initialised HF model (normal, std 0.02; norms 1 +
// small noise so the q/k norms matter in tests). Deterministic per seed.
Qwen3Weights random_qwen3_weights(const Qwen3Config& config, uint64_t seed);

}  // namespace elm::model
