#include "memory/selection.h"

#include <limits>

#include "core/error.h"
#include "memory/router.h"

namespace elm::memory {

namespace F = torch::nn::functional;

torch::Tensor candidate_cosine(const torch::Tensor& x, const torch::Tensor& candidates) {
  ELM_CHECK(candidates.dim() == x.dim() + 1 && candidates.size(-1) == x.size(-1),
            "candidate_cosine: x [..., d] and candidates [..., C, d] needed, got ", x.sizes(), " and ",
            candidates.sizes());
  auto opts = F::NormalizeFuncOptions().p(2).dim(-1);
  auto xn = F::normalize(x, opts).unsqueeze(-1);       // [..., d, 1]
  auto cn = F::normalize(candidates, opts);           // [..., C, d]
  return torch::matmul(cn, xn).squeeze(-1);           // [..., C]
}

torch::Tensor gumbel_noise(at::IntArrayRef shape, torch::ScalarType dtype, torch::Device device,
                           const c10::optional<at::Generator>& generator) {
  return gumbel_from_uniform(torch::rand(shape, generator, torch::TensorOptions().dtype(dtype))).to(device);
}

torch::Tensor gumbel_from_uniform(const torch::Tensor& uniform) {
  const double tiny = uniform.scalar_type() == torch::kDouble ? 1e-300 : 1e-30;
  auto u = uniform.clamp_min(tiny);
  return -torch::log(-torch::log(u).clamp_max(-tiny));
}

Selection select_candidates(const torch::Tensor& logits, const torch::Tensor& valid_in, const SelectionOptions& o) {
  ELM_CHECK(logits.dim() >= 1 && valid_in.sizes() == logits.sizes(), "select_candidates: logits ", logits.sizes(),
            " and validity ", valid_in.sizes(), " must have the same shape");
  const int64_t C = logits.size(-1), k = o.num_selected;
  ELM_CHECK(k >= 1 && k <= C, "select_candidates: num_selected ", k, " must be in [1, ", C, "]");
  ELM_CHECK(o.temperature > 0, "select_candidates: temperature must be > 0");
  auto valid = valid_in.to(torch::kBool);
  auto any_valid = valid.any(-1);
  const double neg_inf = -std::numeric_limits<double>::infinity();
  // Rows without a valid candidate keep finite logits (no NaN); their weights are zeroed below.
  auto masked = logits.masked_fill(valid.logical_not() & any_valid.unsqueeze(-1), neg_inf)
                    .masked_fill(any_valid.logical_not().unsqueeze(-1), 0.0);
  torch::Tensor ranking, soft;
  if (o.training) {
    auto g = o.noise.defined() ? o.noise.to(logits.device(), logits.scalar_type())
                               : gumbel_noise(logits.sizes(), logits.scalar_type(), logits.device(), o.generator);
    ELM_CHECK(g.sizes() == logits.sizes(), "select_candidates: noise shape ", g.sizes(), " != logits ", logits.sizes());
    ranking = (masked + g) / o.temperature;
    soft = torch::softmax(ranking, -1) * any_valid.unsqueeze(-1).to(logits.scalar_type());
  } else {
    ranking = masked;
  }
  Selection out;
  out.any_valid = any_valid;
  torch::Tensor positions;
  {
    torch::NoGradGuard no_grad;
    positions = std::get<1>(ranking.topk(k, -1));                    // [..., k]
    auto chosen_valid = valid.gather(-1, positions);                 // [..., k]
    auto hard = torch::zeros_like(logits, logits.options().requires_grad(false));
    hard.scatter_(-1, positions, chosen_valid.to(logits.scalar_type()));
    auto count = chosen_valid.sum(-1, /*keepdim=*/true).clamp_min(1).to(logits.scalar_type());
    out.weights = hard / count;
    out.positions = positions.masked_fill(chosen_valid.logical_not(), -1);
  }
  if (o.training) {
    out.weights = o.hard ? out.weights - soft.detach() + soft : soft;
  }
  return out;
}

torch::Tensor combine_selected(const torch::Tensor& weights, const torch::Tensor& candidates) {
  return torch::matmul(weights.unsqueeze(-2), candidates).squeeze(-2);
}

ContentMatcherImpl::ContentMatcherImpl(int64_t dim, at::Generator gen) {
  proj = register_module("proj", Projection(dim, dim, 0, false, gen));
  {
    torch::NoGradGuard no_grad;
    proj->weight.copy_(torch::eye(dim, torch::kFloat32));
  }
  log_scale = register_parameter("log_scale", torch::full({}, kInitialLogitScale, torch::kFloat32));
}

torch::Tensor ContentMatcherImpl::cosine(const torch::Tensor& query, const torch::Tensor& candidates) {
  return candidate_cosine(proj->forward(query), candidates);
}

torch::Tensor ContentMatcherImpl::scale() const { return log_scale.exp().clamp_max(kMaxScale); }

}  // namespace elm::memory
