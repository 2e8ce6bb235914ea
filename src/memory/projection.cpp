#include "memory/projection.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "core/error.h"

namespace elm::memory {

at::Generator make_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

namespace {
torch::Tensor uniform(std::vector<int64_t> shape, double bound, at::Generator& gen) {
  return torch::empty(shape, torch::kFloat32).uniform_(-bound, bound, gen);
}
}  // namespace

ProjectionImpl::ProjectionImpl(int64_t in_features, int64_t out_features, int64_t rank, bool with_bias,
                               at::Generator gen, LowRankInit low_rank_init)
    : in_(in_features), out_(out_features), rank_(rank) {
  ELM_CHECK(in_features > 0 && out_features > 0 && rank >= 0, "Projection: bad shape ", in_features, " -> ",
            out_features, " (rank ", rank, ")");
  torch::NoGradGuard no_grad;
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  if (rank == 0) {
    weight = register_parameter("weight", uniform({out_features, in_features}, bound, gen));
  } else {
    A = register_parameter("A", uniform({rank, in_features}, bound, gen));
    B = register_parameter("B", low_rank_init == LowRankInit::kZeroB
                                    ? torch::zeros({out_features, rank}, torch::kFloat32)
                                    : uniform({out_features, rank}, 1.0 / std::sqrt(static_cast<double>(rank)), gen));
  }
  if (with_bias) bias = register_parameter("bias", uniform({out_features}, bound, gen));
}

torch::Tensor ProjectionImpl::forward(const torch::Tensor& x) {
  if (rank_ == 0) return bias.defined() ? torch::linear(x, weight, bias) : torch::linear(x, weight);
  auto y = torch::linear(torch::linear(x, A), B);
  return bias.defined() ? y + bias : y;
}

torch::Tensor ProjectionImpl::effective_weight() const { return rank_ == 0 ? weight : torch::matmul(B, A); }

}  // namespace elm::memory
