#pragma once
// The tensors of a BERT / XLM-RoBERTa token classifier with their HF names
// (prefix "bert." or "roberta."; see /work/shared/SPECS.md section 3), loaded from safetensors.
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "model/encoder_config.h"

namespace elm::io {
class SafetensorsCheckpoint;
}

namespace elm::model {

struct EncoderLayerWeights {
  torch::Tensor query_w, query_b, key_w, key_b, value_w, value_b;  // [H, H], [H]
  torch::Tensor attn_out_w, attn_out_b;                            // attention.output.dense
  torch::Tensor attn_ln_w, attn_ln_b;                              // attention.output.LayerNorm
  torch::Tensor inter_w, inter_b;                                  // intermediate.dense [I, H], [I]
  torch::Tensor out_w, out_b;                                      // output.dense [H, I], [H]
  torch::Tensor out_ln_w, out_ln_b;                                // output.LayerNorm
};

struct EncoderWeights {
  torch::Tensor word_embeddings;        // [V, H]
  torch::Tensor position_embeddings;    // [P, H]
  torch::Tensor token_type_embeddings;  // [type_vocab, H]
  torch::Tensor emb_ln_w, emb_ln_b;     // embeddings.LayerNorm
  std::vector<EncoderLayerWeights> layers;
  torch::Tensor classifier_w, classifier_b;  // [num_labels, H], [num_labels]

  // Every tensor with its HF name, in a stable order (embeddings, layers, classifier).
  std::vector<std::pair<std::string, torch::Tensor>> named_tensors(const EncoderConfig& config) const;
};

// The HF names and shapes a checkpoint with this config must hold.
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_encoder_tensors(const EncoderConfig& config);

// Loads and checks every tensor (present, shape from config.json, dtype BF16/F16/F32), as float32.
// Errors name `origin` and the tensor. Tensors the classifier does not use (a pooler, the
// position_ids buffer) are logged once and ignored.
EncoderWeights load_encoder_weights(const io::SafetensorsCheckpoint& checkpoint, const EncoderConfig& config,
                                    const std::string& origin);

// Random weights like a fresh HF model (normal std 0.02, LayerNorm 1 + small noise, biases small
// noise), with the classifier drawn at `classifier_std` so that its probabilities spread out.
// Deterministic per seed.
EncoderWeights random_encoder_weights(const EncoderConfig& config, uint64_t seed, double classifier_std = 0.02);

}  // namespace elm::model
