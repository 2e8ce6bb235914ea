#pragma once
// RMSNorm with a learned weight (initialised to ones), computed in float32 or wider:
// y = weight * x * rsqrt(mean(x^2) + eps). Used for RMSNorm_mem and the selected-memory norm.
#include <cstdint>

#include <torch/torch.h>

namespace elm::memory {

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  // Returns float32 (or double when x or the weight is double).
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

}  // namespace elm::memory
