#include "model/qwen3_layers.h"

#include "model/linear.h"

#include <cmath>

namespace elm::model {

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  auto x32 = x.to(torch::kFloat32);
  auto normed = x32 * torch::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normed.to(x.scalar_type());
}

torch::Tensor rope_inverse_frequencies(int64_t head_dim, double theta) {
  // HF: 1 / theta^(arange(0, d, 2) / d) in f32.
  auto exponents = torch::arange(0, head_dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<float>(head_dim);
  return 1.0 / torch::pow(torch::full({}, static_cast<float>(theta), torch::kFloat32), exponents);
}

std::pair<torch::Tensor, torch::Tensor> rope_tables(const torch::Tensor& positions, const torch::Tensor& inv_freq) {
  auto angles = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq;  // [B, T, hd/2]
  auto full = torch::cat({angles, angles}, -1);
  return {full.cos(), full.sin()};
}

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  auto c = cos.unsqueeze(1).to(x.scalar_type());
  auto s = sin.unsqueeze(1).to(x.scalar_type());
  auto rotated = torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * c + rotated * s;
}

torch::Tensor grouped_query_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                      const torch::Tensor& mask) {
  const int64_t B = q.size(0), nh = q.size(1), T = q.size(2), hd = q.size(3);
  const int64_t nkv = k.size(1), S = k.size(2), group = nh / nkv;
  // Heads that share a KV head are adjacent, so [B, nh, T, hd] regroups to [B, nkv, group*T, hd]
  // without copying K or V.
  auto qg = q.reshape({B, nkv, group * T, hd});
  // Scaled in the compute dtype, then softmax in f32 (HF's eager attention does the same).
  auto scores = (torch::matmul(qg, k.transpose(-1, -2)) * (1.0 / std::sqrt(double(hd)))).to(torch::kFloat32);
  auto m = mask.view({B, 1, 1, T, S}).expand({B, 1, group, T, S}).reshape({B, 1, group * T, S});
  auto probs = torch::softmax(scores + m, -1).to(q.scalar_type());
  auto out = torch::matmul(probs, v);  // [B, nkv, group*T, hd]
  return out.view({B, nh, T, hd}).transpose(1, 2).reshape({B, T, nh * hd});
}

torch::Tensor swiglu_mlp(const torch::Tensor& x, const torch::Tensor& gate, const torch::Tensor& up,
                         const torch::Tensor& down) {
  return apply_linear(torch::silu(apply_linear(x, gate)) * apply_linear(x, up), down);
}

}  // namespace elm::model
