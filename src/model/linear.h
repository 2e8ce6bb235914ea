#pragma once
// y = x W^T for the backbone's projections. In decode steps x has one or a few rows, where BLAS
// GEMM is far from memory bandwidth (OpenBLAS 0.3.21: ~60 ms for the 151936x512 lm_head on 2
// cores vs ~12 ms to stream the weights), so small-row f32 inference uses a threaded GEMV.
// Anything that may need gradients, and every other case, goes to torch::linear.
#include <torch/torch.h>

namespace elm::model {

torch::Tensor apply_linear(const torch::Tensor& x, const torch::Tensor& weight);

// The threaded row-dot kernel itself (f32, contiguous, no autograd): out[r, j] = dot(x[r], w[j]).
torch::Tensor small_rows_linear(const torch::Tensor& x, const torch::Tensor& weight);

// Rows at or below which apply_linear() uses small_rows_linear.
inline constexpr int64_t kSmallRowsMax = 4;

}  // namespace elm::model
