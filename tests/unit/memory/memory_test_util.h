#pragma once
// Helpers for the memory tests: finite-difference gradient checks and small random fixtures.
#include <algorithm>
#include <cmath>
#include <functional>

#include <ATen/CPUGeneratorImpl.h>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace elm::memory::testing {

// Largest |analytic - numeric| / max(1, |numeric|) over the elements of `inputs` (double tensors
// with requires_grad). `loss` must recompute a scalar from the current values. Central
// differences with step eps; at most `max_elements` elements per tensor are probed (evenly spaced).
inline double gradcheck_error(const std::function<torch::Tensor()>& loss, const std::vector<torch::Tensor>& inputs,
                              double eps = 1e-6, int64_t max_elements = 40) {
  for (const auto& t : inputs) {
    if (t.grad().defined()) t.mutable_grad().zero_();
  }
  loss().backward();
  double worst = 0;
  for (const auto& t : inputs) {
    auto analytic = t.grad().defined() ? t.grad().clone() : torch::zeros_like(t);
    auto flat = analytic.reshape({-1});
    torch::NoGradGuard no_grad;
    auto data = t.view({-1});
    const int64_t n = data.numel();
    const int64_t step = std::max<int64_t>(1, n / max_elements);
    for (int64_t i = 0; i < n; i += step) {
      const double orig = data[i].item<double>();
      data[i].fill_(orig + eps);
      const double plus = loss().item<double>();
      data[i].fill_(orig - eps);
      const double minus = loss().item<double>();
      data[i].fill_(orig);
      const double numeric = (plus - minus) / (2 * eps);
      const double err = std::abs(flat[i].item<double>() - numeric) / std::max(1.0, std::abs(numeric));
      worst = std::max(worst, err);
    }
  }
  return worst;
}

// Fixed "random" weights for a loss: sum(out * w) with w from a seeded generator.
inline torch::Tensor probe_weights(at::IntArrayRef shape, uint64_t seed, torch::ScalarType dtype = torch::kDouble) {
  auto gen = at::detail::createCPUGenerator(seed);
  return torch::randn(shape, gen, torch::TensorOptions().dtype(dtype));
}

}  // namespace elm::memory::testing
