#pragma once
// BertForTokenClassification / XLMRobertaForTokenClassification inference in float32: the post-LN
// encoder of SPECS.md section 3 (embeddings + LayerNorm, then per layer multi-head self-attention,
// residual + LayerNorm, GELU (erf) feed-forward, residual + LayerNorm) and a linear classifier per
// token. Token type 0 everywhere; padding is masked out of attention. Immutable after loading:
// forward() may run on several threads at once.
#include <string>
#include <vector>

#include <torch/torch.h>

#include "model/encoder_config.h"
#include "model/encoder_weights.h"

namespace elm::model {

class TokenClassifier {
 public:
  // A HF model directory: config.json and model.safetensors (or a sharded index). Errors name the
  // file and the tensor.
  static TokenClassifier load(const std::string& model_dir);
  TokenClassifier(EncoderConfig config, EncoderWeights weights, std::string origin = "token classifier");

  const EncoderConfig& config() const { return config_; }
  const EncoderWeights& weights() const { return weights_; }
  const std::string& origin() const { return origin_; }

  // ids: [B, T] integer token ids; attention_mask: [B, T] with 1 for tokens and 0 for padding
  // (undefined: all tokens). Returns logits [B, T, num_labels] (float32). Ids outside the
  // embedding or more than config().max_tokens() positions are an elm::Error.
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& attention_mask = {}) const;

  // The hidden state after the embeddings (index 0) and after each layer (1..num_hidden_layers).
  std::vector<torch::Tensor> hidden_states(const torch::Tensor& ids, const torch::Tensor& attention_mask = {}) const;

  // HF's position ids: BERT 0..T-1 in every row; XLM-R cumsum(id != pad) * (id != pad) + pad, i.e.
  // pad + 1, pad + 2, ... for tokens and pad for padding.
  torch::Tensor position_ids(const torch::Tensor& ids) const;

 private:
  torch::Tensor embed(const torch::Tensor& ids) const;
  torch::Tensor layer(size_t index, const torch::Tensor& x, const torch::Tensor& additive_mask) const;
  void check_input(const torch::Tensor& ids, const torch::Tensor& attention_mask) const;

  EncoderConfig config_;
  EncoderWeights weights_;
  std::string origin_;
};

}  // namespace elm::model
