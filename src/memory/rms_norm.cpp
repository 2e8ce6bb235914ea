#include "memory/rms_norm.h"

namespace elm::memory {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}, torch::kFloat32));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  const bool wide = x.scalar_type() == torch::kDouble || weight.scalar_type() == torch::kDouble;
  auto xf = x.to(wide ? torch::kDouble : torch::kFloat32);
  return weight * (xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps_));
}

}  // namespace elm::memory
