#include "memory/losses.h"

#include <limits>

#include "core/error.h"

namespace elm::memory {

namespace F = torch::nn::functional;

namespace {

void check_token_mask(const torch::Tensor& sim, const torch::Tensor& token_valid) {
  ELM_CHECK(token_valid.sizes() == sim.sizes(), "similarity_loss: token mask ", token_valid.sizes(),
            " does not match similarity ", sim.sizes());
}

// [..., C, C] bool: the candidate pairs (i != j, both valid, of a valid token) diversity_loss averages.
torch::Tensor diversity_pairs(const torch::Tensor& candidate_valid, const torch::Tensor& token_valid) {
  const int64_t C = candidate_valid.size(-1);
  auto cv = candidate_valid.to(torch::kBool);
  auto pair = cv.unsqueeze(-1) & cv.unsqueeze(-2);
  pair = pair & torch::eye(C, torch::TensorOptions().dtype(torch::kBool).device(cv.device())).logical_not();
  if (token_valid.defined()) {
    auto tv = token_valid.to(torch::kBool);
    ELM_CHECK(tv.dim() == cv.dim() - 1, "diversity_loss: token mask ", tv.sizes(), " does not match ", cv.sizes());
    pair = pair & tv.unsqueeze(-1).unsqueeze(-1);
  }
  return pair;
}

}  // namespace

torch::Tensor similarity_loss(const torch::Tensor& sim, const torch::Tensor& token_valid) {
  if (!token_valid.defined()) return -sim.mean();
  check_token_mask(sim, token_valid);
  auto w = token_valid.to(sim.scalar_type());
  return -(sim * w).sum() / w.sum().clamp_min(1);
}

int64_t similarity_count(const torch::Tensor& sim, const torch::Tensor& token_valid) {
  if (!token_valid.defined()) return sim.numel();
  check_token_mask(sim, token_valid);
  return token_valid.to(torch::kBool).sum().item<int64_t>();
}

torch::Tensor diversity_loss(const torch::Tensor& candidates, const torch::Tensor& candidate_valid,
                             const torch::Tensor& token_valid) {
  ELM_CHECK(candidates.dim() >= 2, "diversity_loss: candidates must be [..., C, d]");
  auto cn = F::normalize(candidates, F::NormalizeFuncOptions().p(2).dim(-1));
  auto gram = torch::matmul(cn, cn.transpose(-1, -2));  // [..., C, C]
  auto shape = candidates.sizes().vec();
  shape.pop_back();  // [..., C]
  auto cv = candidate_valid.defined() ? candidate_valid.to(torch::kBool) : torch::ones(shape, torch::kBool).to(candidates.device());
  ELM_CHECK(cv.sizes().vec() == shape, "diversity_loss: candidate mask ", cv.sizes(), " != ", torch::IntArrayRef(shape));
  auto w = diversity_pairs(cv, token_valid).to(gram.scalar_type());
  return (gram * w).sum() / w.sum().clamp_min(1);
}

int64_t diversity_pair_count(const torch::Tensor& candidate_valid, const torch::Tensor& token_valid) {
  ELM_CHECK(candidate_valid.dim() >= 1, "diversity_pair_count: candidate mask must be [..., C]");
  return diversity_pairs(candidate_valid, token_valid).sum().item<int64_t>();
}

torch::Tensor router_soft_label_loss(const torch::Tensor& l1, const torch::Tensor& l2, const torch::Tensor& targets,
                                     const torch::Tensor& target_scores, double temperature) {
  ELM_CHECK(l1.dim() == 2 && l1.sizes() == l2.sizes(), "router loss: half logits must both be [Q, sqrt(N)], got ",
            l1.sizes(), " and ", l2.sizes());
  ELM_CHECK(targets.dim() == 2 && targets.size(0) == l1.size(0) && target_scores.sizes() == targets.sizes(),
            "router loss: targets ", targets.sizes(), " and scores ", target_scores.sizes(), " must be [Q, K] with Q = ",
            l1.size(0));
  ELM_CHECK(temperature > 0, "router loss: temperature must be > 0");
  const int64_t n = l1.size(1);
  auto t = targets.to(torch::kInt64);
  auto present = t.ge(0);
  if (present.any().item<bool>()) {
    ELM_CHECK(t.max().item<int64_t>() < n * n, "router loss: target entry ", t.max().item<int64_t>(),
              " is outside the grid of ", n * n, " entries");
  }
  auto safe = t.clamp_min(0);
  auto u = safe.div(n, "floor");
  auto v = safe.remainder(n);
  auto lp1 = torch::log_softmax(l1, -1).gather(-1, u);
  auto lp2 = torch::log_softmax(l2, -1).gather(-1, v);
  auto scores = (target_scores.to(l1.scalar_type()) / temperature)
                    .masked_fill(present.logical_not(), -std::numeric_limits<double>::infinity());
  auto has_any = present.any(-1, /*keepdim=*/true);
  auto p = torch::softmax(scores.masked_fill(has_any.logical_not(), 0.0), -1) * has_any.to(l1.scalar_type());
  auto per_query = -(p * (lp1 + lp2)).sum(-1);
  auto count = has_any.to(l1.scalar_type()).sum().clamp_min(1);
  return per_query.sum() / count;
}

int64_t router_query_count(const torch::Tensor& target_indices) {
  ELM_CHECK(target_indices.dim() == 2, "router_query_count: targets must be [Q, K], got ", target_indices.sizes());
  return target_indices.ge(0).any(-1).sum().item<int64_t>();
}

torch::Tensor mean_over_layers(const std::vector<torch::Tensor>& losses) {
  if (losses.empty()) return torch::zeros({});
  auto total = losses.front();
  for (size_t i = 1; i < losses.size(); ++i) total = total + losses[i];
  return total / static_cast<double>(losses.size());
}

}  // namespace elm::memory
