#include "model/token_classifier.h"

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/error.h"
#include "io/safetensors.h"

namespace elm::model {

TokenClassifier TokenClassifier::load(const std::string& model_dir) {
  std::error_code ec;
  ELM_CHECK(std::filesystem::is_directory(model_dir, ec), "token classifier: model directory ", model_dir,
            " does not exist");
  EncoderConfig config = load_encoder_config(model_dir);
  const auto ckpt = io::SafetensorsCheckpoint::open(model_dir);
  const auto single = std::filesystem::path(model_dir) / "model.safetensors";
  const std::string origin = std::filesystem::is_regular_file(single, ec) ? single.string() : ckpt.path();
  EncoderWeights weights = load_encoder_weights(ckpt, config, origin);
  return TokenClassifier(std::move(config), std::move(weights), origin);
}

TokenClassifier::TokenClassifier(EncoderConfig config, EncoderWeights weights, std::string origin)
    : config_(std::move(config)), weights_(std::move(weights)), origin_(std::move(origin)) {
  config_.validate(origin_);
  ELM_CHECK(static_cast<int64_t>(weights_.layers.size()) == config_.num_hidden_layers, origin_, ": ",
            weights_.layers.size(), " layers of weights for num_hidden_layers ", config_.num_hidden_layers);
}

void TokenClassifier::check_input(const torch::Tensor& ids, const torch::Tensor& mask) const {
  ELM_CHECK(ids.defined() && ids.dim() == 2, origin_, ": token ids must be [batch, tokens]");
  ELM_CHECK(!torch::isFloatingType(ids.scalar_type()), origin_, ": token ids must be integers");
  ELM_CHECK(ids.size(1) <= config_.max_tokens(), origin_, ": ", ids.size(1), " tokens exceed the ",
            config_.max_tokens(), " positions of the model (max_position_embeddings ",
            config_.max_position_embeddings, ")");
  if (ids.numel() > 0) {
    const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
    ELM_CHECK(lo >= 0 && hi < config_.vocab_size, origin_, ": token id ", (lo < 0 ? lo : hi),
              " is outside the word embedding [0, ", config_.vocab_size, ")");
  }
  if (mask.defined()) {
    ELM_CHECK(mask.sizes() == ids.sizes(), origin_, ": attention mask must have the shape of the ids");
  }
}

torch::Tensor TokenClassifier::position_ids(const torch::Tensor& ids) const {
  if (!config_.is_xlm_roberta()) {
    return torch::arange(ids.size(1), torch::kInt64).unsqueeze(0).expand({ids.size(0), ids.size(1)});
  }
  const auto not_pad = ids.ne(config_.pad_token_id).to(torch::kInt64);
  return torch::cumsum(not_pad, 1) * not_pad + config_.pad_token_id;
}

torch::Tensor TokenClassifier::embed(const torch::Tensor& ids) const {
  const auto& w = weights_;
  const auto flat = ids.to(torch::kInt64);
  auto x = w.word_embeddings.index_select(0, flat.reshape({-1})).view({ids.size(0), ids.size(1), -1});
  x = x + w.position_embeddings.index_select(0, position_ids(flat).reshape({-1})).view_as(x);
  x = x + w.token_type_embeddings[0];
  return torch::layer_norm(x, {config_.hidden_size}, w.emb_ln_w, w.emb_ln_b, config_.layer_norm_eps);
}

torch::Tensor TokenClassifier::layer(size_t index, const torch::Tensor& x, const torch::Tensor& additive_mask) const {
  const auto& l = weights_.layers[index];
  const int64_t b = x.size(0), t = x.size(1), nh = config_.num_attention_heads, hd = config_.head_dim();
  auto heads = [&](const torch::Tensor& y) { return y.view({b, t, nh, hd}).transpose(1, 2); };  // [B, nh, T, hd]
  const auto q = heads(torch::linear(x, l.query_w, l.query_b));
  const auto k = heads(torch::linear(x, l.key_w, l.key_b));
  const auto v = heads(torch::linear(x, l.value_w, l.value_b));
  auto scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(hd));
  if (additive_mask.defined()) scores = scores + additive_mask;
  const auto context = torch::matmul(torch::softmax(scores, -1), v).transpose(1, 2).reshape({b, t, nh * hd});
  const auto attn = torch::linear(context, l.attn_out_w, l.attn_out_b);
  const auto x1 = torch::layer_norm(attn + x, {config_.hidden_size}, l.attn_ln_w, l.attn_ln_b, config_.layer_norm_eps);
  const auto inner = torch::gelu(torch::linear(x1, l.inter_w, l.inter_b));  // erf form
  return torch::layer_norm(torch::linear(inner, l.out_w, l.out_b) + x1, {config_.hidden_size}, l.out_ln_w,
                           l.out_ln_b, config_.layer_norm_eps);
}

std::vector<torch::Tensor> TokenClassifier::hidden_states(const torch::Tensor& ids,
                                                          const torch::Tensor& attention_mask) const {
  check_input(ids, attention_mask);
  c10::InferenceMode guard;
  torch::Tensor additive;
  if (attention_mask.defined()) {
    // HF: (1 - mask) * finfo(float32).min added to the scores of padded keys, [B, 1, 1, T].
    additive = (1.0 - attention_mask.to(torch::kFloat32)) * std::numeric_limits<float>::lowest();
    additive = additive.view({ids.size(0), 1, 1, ids.size(1)});
  }
  std::vector<torch::Tensor> out;
  out.push_back(embed(ids));
  for (size_t i = 0; i < weights_.layers.size(); ++i) out.push_back(layer(i, out.back(), additive));
  return out;
}

torch::Tensor TokenClassifier::forward(const torch::Tensor& ids, const torch::Tensor& attention_mask) const {
  auto states = hidden_states(ids, attention_mask);
  c10::InferenceMode guard;
  return torch::linear(states.back(), weights_.classifier_w, weights_.classifier_b);
}

}  // namespace elm::model
