#include "train/pipeline_state.h"

#include <cmath>
#include <map>
#include <set>

#include "core/error.h"

namespace elm::train {

namespace {

// "memory.layers.<i>.<...>" -> i
int64_t layer_of(const std::string& name) {
  static const std::string prefix = "memory.layers.";
  ELM_CHECK(name.rfind(prefix, 0) == 0, "pipeline: parameter ", name, " is not a memory layer's");
  return std::stoll(name.substr(prefix.size(), name.find('.', prefix.size()) - prefix.size()));
}

}  // namespace

NamedTensors stage_parameters(const memory::ExplicitLM& lm, const dist::StageSpan& span) {
  NamedTensors out;
  for (auto& [name, t] : lm.named_trainable_parameters()) {
    const int64_t layer = layer_of(name);
    if (layer >= span.first_layer && layer < span.end_layer) out.emplace_back(name, t);
  }
  return out;
}

NamedTensors state_of(const NamedTensors& state, const NamedTensors& params) {
  std::set<std::string> names;
  for (const auto& p : params) names.insert(p.first);
  NamedTensors out;
  for (const auto& [key, t] : state) {
    // "<param>.exp_avg", "<param>.exp_avg_sq", "<param>.step"
    const auto dot = key.rfind('.');
    if (dot != std::string::npos && names.count(key.substr(0, dot))) out.emplace_back(key, t);
  }
  return out;
}

void share_stage_parameters(dist::Communicator& world, const dist::GridLayout& layout,
                            const dist::PipelinePartition& partition, memory::ExplicitLM& lm) {
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : lm.named_trainable_parameters()) {
    const int owner = layout.rank_of(partition.stage_of_layer(layer_of(name)), 0);
    torch::Tensor data = t.detach();
    world.broadcast(data, owner);
  }
}

double clip_grad_norm_across_stages(dist::Communicator& pipeline, const NamedTensors& params, double max_norm) {
  ELM_CHECK(std::isfinite(max_norm) && max_norm > 0, "clip_grad_norm: max_norm must be finite and > 0, got ", max_norm);
  torch::NoGradGuard no_grad;
  auto sumsq = torch::zeros({1}, torch::kFloat64);
  for (const auto& [name, p] : params) {
    if (p.grad().defined()) sumsq += p.grad().to(torch::kFloat64).pow(2).sum();
  }
  pipeline.all_reduce_sum(sumsq);
  const double total = std::sqrt(sumsq.item<double>());
  // As torch::nn::utils::clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1.
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0) {
    for (const auto& [name, p] : params) {
      if (p.grad().defined()) p.grad().mul_(coef);
    }
  }
  return total;
}

}  // namespace elm::train
