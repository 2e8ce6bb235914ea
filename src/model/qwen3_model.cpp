#include "model/qwen3_model.h"

#include "core/error.h"
#include "io/safetensors.h"
#include "model/linear.h"
#include "model/qwen3_layers.h"

namespace elm::model {
namespace {
// Finite "minus infinity": a fully masked row (a padding query) then yields a uniform softmax
// instead of NaN, and its output is ignored anyway.
constexpr float kMaskedScore = -1e30f;
}  // namespace

torch::ScalarType parse_compute_dtype(const std::string& name) {
  if (name == "float32" || name == "f32" || name == "fp32") return torch::kFloat32;
  if (name == "bfloat16" || name == "bf16") return torch::kBFloat16;
  fail("unknown compute dtype '", name, "' (expected float32 or bfloat16)");
}

Qwen3Model::Qwen3Model(Qwen3Config config, Qwen3Weights weights, torch::ScalarType dtype)
    : config_(std::move(config)), weights_(std::move(weights)), dtype_(dtype) {
  config_.validate("Qwen3Model");
  ELM_CHECK(static_cast<int64_t>(weights_.layers.size()) == config_.num_hidden_layers,
            "Qwen3Model: weights have ", weights_.layers.size(), " layers, config says ", config_.num_hidden_layers);
  if (weights_.embed_tokens.scalar_type() != dtype_) weights_ = weights_.to(dtype_);
  inv_freq_ = rope_inverse_frequencies(config_.head_dim, config_.rope_theta);
}

Qwen3Model Qwen3Model::load(const std::string& model_dir, torch::ScalarType dtype) {
  Qwen3Config config = load_qwen3_config(model_dir);
  auto checkpoint = io::SafetensorsCheckpoint::open(model_dir);
  Qwen3Weights weights = load_qwen3_weights(checkpoint, config, dtype, model_dir);
  return Qwen3Model(std::move(config), std::move(weights), dtype);
}

KVCache Qwen3Model::new_cache(int64_t batch, int64_t capacity) const {
  return KVCache(config_, batch, capacity, dtype_);
}

AttentionContext Qwen3Model::make_context(const torch::Tensor& ids, const torch::Tensor& attention_mask,
                                          KVCache* cache) const {
  ELM_CHECK(ids.dim() == 2, "input_ids must be [batch, tokens], got ", ids.dim(), " dimension(s)");
  const int64_t B = ids.size(0), T = ids.size(1);
  AttentionContext ctx;
  ctx.cache = cache;
  ctx.valid = attention_mask.defined() ? attention_mask.to(torch::kBool) : torch::ones({B, T}, torch::kBool);
  ELM_CHECK(ctx.valid.sizes() == ids.sizes(), "attention_mask shape must equal input_ids shape");
  const int64_t past = cache ? cache->length() : 0;
  if (cache) ELM_CHECK(cache->batch() == B, "KV cache batch ", cache->batch(), " != input batch ", B);

  // Positions count only real tokens (left padding keeps the first real token at position 0).
  auto valid64 = ctx.valid.to(torch::kInt64);
  auto positions = valid64.cumsum(1) - 1;
  if (cache) positions = positions + cache->next_position().unsqueeze(1);
  ctx.positions = positions.clamp_min(0);
  std::tie(ctx.cos, ctx.sin) = rope_tables(ctx.positions, inv_freq_);

  // Key validity over all S = past + T slots; query t (slot past+t) sees slots <= past+t.
  auto key_valid = ctx.valid;
  if (cache && past > 0) key_valid = torch::cat({cache->slot_valid().narrow(1, 0, past), ctx.valid}, 1);
  const int64_t S = past + T;
  auto query_slot = torch::arange(past, past + T, torch::kInt64).unsqueeze(1);  // [T, 1]
  auto key_slot = torch::arange(0, S, torch::kInt64).unsqueeze(0);              // [1, S]
  auto visible = (key_slot <= query_slot).unsqueeze(0) & key_valid.unsqueeze(1);  // [B, T, S]
  ctx.mask = torch::zeros({B, 1, T, S}, torch::kFloat32).masked_fill(visible.logical_not().unsqueeze(1), kMaskedScore);
  return ctx;
}

torch::Tensor Qwen3Model::embed(const torch::Tensor& ids) const {
  ELM_CHECK(ids.dim() == 2, "input_ids must be [batch, tokens]");
  if (ids.numel() > 0) {
    const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
    ELM_CHECK(lo >= 0 && hi < config_.vocab_size, "token id ", (lo < 0 ? lo : hi), " is outside the vocabulary [0, ",
              config_.vocab_size, ")");
  }
  return torch::embedding(weights_.embed_tokens, ids.to(torch::kInt64));
}

torch::Tensor Qwen3Model::decoder_layer(int64_t index, const torch::Tensor& x, const AttentionContext& ctx) const {
  const Qwen3LayerWeights& w = weights_.layers.at(index);
  const int64_t B = x.size(0), T = x.size(1);
  const int64_t nh = config_.num_attention_heads, nkv = config_.num_key_value_heads, hd = config_.head_dim;
  const double eps = config_.rms_norm_eps;

  auto h = rms_norm(x, w.input_layernorm, eps);
  auto q = rms_norm(apply_linear(h, w.q_proj).view({B, T, nh, hd}), w.q_norm, eps).transpose(1, 2);
  auto k = rms_norm(apply_linear(h, w.k_proj).view({B, T, nkv, hd}), w.k_norm, eps).transpose(1, 2);
  auto v = apply_linear(h, w.v_proj).view({B, T, nkv, hd}).transpose(1, 2);
  q = apply_rope(q, ctx.cos, ctx.sin);
  k = apply_rope(k, ctx.cos, ctx.sin);
  if (ctx.cache) std::tie(k, v) = ctx.cache->append(index, k, v);
  auto attn = grouped_query_attention(q.contiguous(), k, v, ctx.mask);
  auto residual = x + apply_linear(attn, w.o_proj);
  auto z = rms_norm(residual, w.post_attention_layernorm, eps);
  return residual + swiglu_mlp(z, w.gate_proj, w.up_proj, w.down_proj);
}

torch::Tensor Qwen3Model::final_norm(const torch::Tensor& hidden) const {
  return rms_norm(hidden, weights_.norm, config_.rms_norm_eps);
}

torch::Tensor Qwen3Model::lm_head(const torch::Tensor& normed) const {
  return apply_linear(normed, weights_.output_projection()).to(torch::kFloat32);
}

ForwardResult Qwen3Model::forward(const torch::Tensor& ids, const ForwardOptions& options) const {
  AttentionContext ctx = make_context(ids, options.attention_mask, options.cache);
  auto h = embed(ids);
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    h = decoder_layer(i, h, ctx);
    if (options.after_layer) h = options.after_layer(i, h, ctx);
  }
  if (options.cache) options.cache->commit(ctx.valid);

  ForwardResult result;
  result.hidden = final_norm(h);
  if (options.logits == LogitsMode::kAll) {
    result.logits = lm_head(result.hidden);
  } else if (options.logits == LogitsMode::kLast) {
    // Last real token of each row: the highest index whose mask is set (right padding safe).
    const int64_t T = ids.size(1);
    auto index = (ctx.valid.to(torch::kInt64) * torch::arange(T, torch::kInt64)).argmax(1);
    auto rows = result.hidden.index({torch::arange(ids.size(0), torch::kInt64), index});
    result.logits = lm_head(rows);
  }
  return result;
}

}  // namespace elm::model
