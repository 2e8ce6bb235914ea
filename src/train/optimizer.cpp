#include "train/optimizer.h"

#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>

#include "core/error.h"

namespace elm::train {
namespace {

// Optimizer::state() is keyed by the parameter's TensorImpl pointer: as a string
// (c10::guts::to_string, i.e. operator<<) in LibTorch 1.13, as void* in 2.x.
template <class Key>
Key state_key(const torch::Tensor& p) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;
    os << p.unsafeGetTensorImpl();
    return os.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

using StateMap = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>;
using StateKey = StateMap::key_type;

const char* const kSuffixes[] = {".exp_avg", ".exp_avg_sq", ".step"};

}  // namespace

void validate(const AdamWConfig& c) {
  ELM_CHECK(std::isfinite(c.lr) && c.lr >= 0, "adamw.lr must be finite and >= 0, got ", c.lr);
  ELM_CHECK(c.beta1 >= 0 && c.beta1 < 1, "adamw.beta1 must be in [0, 1), got ", c.beta1);
  ELM_CHECK(c.beta2 >= 0 && c.beta2 < 1, "adamw.beta2 must be in [0, 1), got ", c.beta2);
  ELM_CHECK(std::isfinite(c.eps) && c.eps >= 0, "adamw.eps must be finite and >= 0, got ", c.eps);
  ELM_CHECK(std::isfinite(c.weight_decay) && c.weight_decay >= 0, "adamw.weight_decay must be finite and >= 0, got ",
            c.weight_decay);
}

double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  ELM_CHECK(std::isfinite(max_norm) && max_norm > 0, "clip_grad_norm: max_norm must be finite and > 0, got ",
            max_norm);
  bool any_grad = false;
  for (const auto& p : params) any_grad = any_grad || (p.defined() && p.grad().defined());
  if (!any_grad) return 0.0;
  // Same call shape in LibTorch 1.13 (vector by value) and 2.x (const vector&); returns double.
  return torch::nn::utils::clip_grad_norm_(std::vector<torch::Tensor>(params), max_norm, 2.0);
}

GradientAccumulator::GradientAccumulator(std::int64_t accum_steps) : accum_steps_(accum_steps) {
  ELM_CHECK(accum_steps >= 1, "gradient accumulation steps must be >= 1, got ", accum_steps);
}

bool GradientAccumulator::micro_step_done() {
  if (++pending_ < accum_steps_) return false;
  pending_ = 0;
  return true;
}

Optimizer::Optimizer(NamedTensors params, const AdamWConfig& config) : params_(std::move(params)) {
  validate(config);
  std::set<std::string> seen;
  std::vector<torch::Tensor> tensors;
  for (const auto& [name, t] : params_) {
    ELM_CHECK(!name.empty(), "optimizer: a parameter has an empty name");
    ELM_CHECK(seen.insert(name).second, "optimizer: duplicate parameter name '", name, "'");
    ELM_CHECK(t.defined(), "optimizer: parameter '", name, "' is undefined");
    ELM_CHECK(t.is_floating_point(), "optimizer: parameter '", name, "' is not floating point");
    ELM_CHECK(t.requires_grad(), "optimizer: parameter '", name, "' does not require grad");
    tensors.push_back(t);
  }
  auto options = torch::optim::AdamWOptions(config.lr)
                     .betas(std::make_tuple(config.beta1, config.beta2))
                     .eps(config.eps)
                     .weight_decay(config.weight_decay)
                     .amsgrad(false);
  adamw_ = std::make_unique<torch::optim::AdamW>(std::move(tensors), options);
}

Optimizer::~Optimizer() = default;

void Optimizer::zero_grad() {
  for (auto& [name, p] : params_) {
    if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
  }
}

void Optimizer::step() {
  torch::NoGradGuard no_grad;
  adamw_->step();
}

void Optimizer::set_learning_rate(double lr) {
  ELM_CHECK(std::isfinite(lr) && lr >= 0, "optimizer: learning rate must be finite and >= 0, got ", lr);
  for (auto& group : adamw_->param_groups()) {
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  }
}

double Optimizer::learning_rate() const {
  return static_cast<const torch::optim::AdamWOptions&>(adamw_->param_groups().front().options()).lr();
}

double Optimizer::clip_grad_norm(double max_norm) { return train::clip_grad_norm(parameters(), max_norm); }

std::vector<torch::Tensor> Optimizer::parameters() const {
  std::vector<torch::Tensor> out;
  out.reserve(params_.size());
  for (const auto& np : params_) out.push_back(np.second);
  return out;
}

NamedTensors Optimizer::export_state() const {
  NamedTensors out;
  const auto& state = adamw_->state();
  for (const auto& [name, p] : params_) {
    auto it = state.find(state_key<StateKey>(p));
    if (it == state.end()) continue;
    const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
    out.emplace_back(name + ".exp_avg", s.exp_avg().detach().to(torch::kCPU).clone());
    out.emplace_back(name + ".exp_avg_sq", s.exp_avg_sq().detach().to(torch::kCPU).clone());
    out.emplace_back(name + ".step", torch::tensor(static_cast<int64_t>(s.step()), torch::kInt64));
  }
  return out;
}

void Optimizer::import_state(const NamedTensors& state) {
  std::map<std::string, torch::Tensor> by_name;
  for (const auto& [name, t] : state) {
    ELM_CHECK(by_name.emplace(name, t).second, "optimizer state: duplicate entry '", name, "'");
  }
  std::set<std::string> used;
  StateMap fresh;
  for (const auto& [name, p] : params_) {
    torch::Tensor found[3];
    int present = 0;
    for (int i = 0; i < 3; ++i) {
      auto it = by_name.find(name + kSuffixes[i]);
      if (it == by_name.end()) continue;
      ELM_CHECK(it->second.defined(), "optimizer state: entry '", it->first, "' is undefined");
      found[i] = it->second;
      used.insert(it->first);
      ++present;
    }
    if (present == 0) continue;
    ELM_CHECK(present == 3, "optimizer state for parameter '", name,
              "' is incomplete: needs .exp_avg, .exp_avg_sq and .step");
    for (int i = 0; i < 2; ++i) {
      ELM_CHECK(found[i].sizes() == p.sizes(), "optimizer state: '", name, kSuffixes[i], "' has shape ",
                found[i].sizes(), ", parameter has ", p.sizes());
    }
    ELM_CHECK(found[2].numel() == 1, "optimizer state: '", name, ".step' must be a scalar");
    const int64_t step = found[2].to(torch::kCPU).to(torch::kInt64).item<int64_t>();
    ELM_CHECK(step >= 0, "optimizer state: '", name, ".step' must be >= 0, got ", step);
    auto s = std::make_unique<torch::optim::AdamWParamState>();
    s->step(step);
    s->exp_avg(found[0].detach().to(p.device(), p.scalar_type()).clone().contiguous());
    s->exp_avg_sq(found[1].detach().to(p.device(), p.scalar_type()).clone().contiguous());
    fresh[state_key<StateKey>(p)] = std::move(s);
  }
  for (const auto& [name, t] : by_name) {
    ELM_CHECK(used.count(name) != 0, "optimizer state: entry '", name, "' matches no parameter");
  }
  adamw_->state() = std::move(fresh);
}

}  // namespace elm::train
