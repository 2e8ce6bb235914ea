#include "model/linear.h"

#include <ATen/Parallel.h>

namespace elm::model {
namespace {

// Dot product with independent accumulators so the compiler vectorises it without -ffast-math.
// Streaming the weights dominates (measured ~19 GB/s on one core), not the arithmetic.
inline float dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
  }
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

bool wants_grad(const torch::Tensor& x, const torch::Tensor& w) {
  return at::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad());
}

}  // namespace

torch::Tensor small_rows_linear(const torch::Tensor& x_in, const torch::Tensor& w_in) {
  TORCH_CHECK(x_in.scalar_type() == torch::kFloat32 && w_in.scalar_type() == torch::kFloat32 && x_in.device().is_cpu() &&
                  w_in.device().is_cpu(),
              "small_rows_linear: f32 CPU tensors only");
  TORCH_CHECK(w_in.dim() == 2 && w_in.is_contiguous() && x_in.dim() >= 1 && x_in.size(-1) == w_in.size(1),
              "small_rows_linear: x [..., K] and a contiguous weight [N, K] needed");
  TORCH_CHECK(!wants_grad(x_in, w_in), "small_rows_linear has no autograd; use torch::linear");
  const int64_t in = w_in.size(1), out_features = w_in.size(0);
  auto x = x_in.reshape({-1, in}).contiguous();
  const auto& w = w_in;
  const int64_t rows = x.size(0);
  auto out = torch::empty({rows, out_features}, x.options());
  const float* xp = x.data_ptr<float>();
  const float* wp = w.data_ptr<float>();
  float* op = out.data_ptr<float>();
  // Each task streams a block of weight rows once and reuses it for every input row.
  at::parallel_for(0, out_features, 64, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      const float* wr = wp + j * in;
      for (int64_t r = 0; r < rows; ++r) op[r * out_features + j] = dot(xp + r * in, wr, in);
    }
  });
  auto shape = x_in.sizes().vec();
  shape.back() = out_features;
  return out.view(shape);
}

torch::Tensor apply_linear(const torch::Tensor& x, const torch::Tensor& weight) {
  const bool eligible = x.scalar_type() == torch::kFloat32 && weight.scalar_type() == torch::kFloat32 &&
                        x.device().is_cpu() && weight.device().is_cpu() && weight.dim() == 2 &&
                        weight.is_contiguous() && x.dim() >= 1 && weight.size(1) > 0 &&
                        x.size(-1) == weight.size(1) && x.numel() / weight.size(1) <= kSmallRowsMax &&
                        !wants_grad(x, weight);
  return eligible ? small_rows_linear(x, weight) : torch::linear(x, weight);
}

}  // namespace elm::model
