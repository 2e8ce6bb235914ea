#pragma once
// The building blocks of a Qwen3 decoder layer, as free functions over tensors so that later
// layers (memory fusion, pipeline stages) can reuse them. All follow SPECS.md section 1.
#include <torch/torch.h>

namespace elm::model {

// y = weight * (x * rsqrt(mean(x^2) + eps)), normalisation computed in f32, result in x's dtype.
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

// inv_freq[i] = theta^(-2i/head_dim), i < head_dim/2, as f32.
torch::Tensor rope_inverse_frequencies(int64_t head_dim, double theta);
// cos and sin tables [B, T, head_dim] for integer positions [B, T] (rotate-half layout).
std::pair<torch::Tensor, torch::Tensor> rope_tables(const torch::Tensor& positions, const torch::Tensor& inv_freq);
// Applies rotate-half RoPE to x [B, heads, T, head_dim] with tables [B, T, head_dim].
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

// Grouped-query scaled dot-product attention. q [B, nh, T, hd], k/v [B, nkv, S, hd],
// additive mask [B, 1, T, S] (0 = visible, large negative = hidden). Softmax in f32.
// Returns [B, T, nh*hd].
torch::Tensor grouped_query_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                      const torch::Tensor& mask);

// SwiGLU MLP: down(silu(gate(x)) * up(x)).
torch::Tensor swiglu_mlp(const torch::Tensor& x, const torch::Tensor& gate, const torch::Tensor& up,
                         const torch::Tensor& down);

}  // namespace elm::model
