#include "infer/causal_lm.h"

#include "core/error.h"

namespace elm::infer {
namespace {

class BackboneState final : public DecodeState {
 public:
  explicit BackboneState(model::KVCache cache) : cache(std::move(cache)) {}
  model::KVCache cache;
};

class MemoryState final : public DecodeState {
 public:
  explicit MemoryState(memory::ExplicitLMCache cache) : cache(std::move(cache)) {}
  memory::ExplicitLMCache cache;
};

template <typename State>
State* state_as(DecodeState* state, const char* model) {
  if (!state) return nullptr;
  auto* s = dynamic_cast<State*>(state);
  ELM_CHECK(s != nullptr, model, ": the decode state was made by another kind of model");
  return s;
}

}  // namespace

std::unique_ptr<DecodeState> BackboneLM::new_state(int64_t batch, int64_t capacity) const {
  return std::make_unique<BackboneState>(model_.new_cache(batch, capacity));
}

torch::Tensor BackboneLM::last_logits(const torch::Tensor& ids, const torch::Tensor& mask, DecodeState* state) {
  model::ForwardOptions fo;
  fo.attention_mask = mask;
  fo.logits = model::LogitsMode::kLast;
  if (auto* s = state_as<BackboneState>(state, "Qwen3")) fo.cache = &s->cache;
  return model_.forward(ids, fo).logits;
}

MemoryLM::MemoryLM(memory::ExplicitLM& lm) : lm_(lm) { lm_.eval(); }

std::unique_ptr<DecodeState> MemoryLM::new_state(int64_t batch, int64_t capacity) const {
  return std::make_unique<MemoryState>(lm_.new_cache(batch, capacity));
}

torch::Tensor MemoryLM::last_logits(const torch::Tensor& ids, const torch::Tensor& mask, DecodeState* state) {
  memory::ExplicitForwardOptions fo;
  fo.attention_mask = mask;
  fo.logits = model::LogitsMode::kLast;
  if (auto* s = state_as<MemoryState>(state, "ExplicitLM")) fo.cache = &s->cache;
  memory::ExplicitLMOutput out = lm_.forward(ids, fo);
  if (observer_) observer_(out.layers);
  return out.logits;
}

std::vector<int64_t> selected_entries(const std::vector<memory::MemoryLayerOutput>& layers) {
  std::vector<int64_t> out;
  for (const auto& layer : layers) {
    if (!layer.selected_indices.defined()) continue;
    // [B, T, k] with -1 where no candidate was valid; only real tokens count.
    auto selected = layer.selected_indices.to(torch::kCPU, torch::kInt64).contiguous();
    auto valid = layer.token_valid.to(torch::kCPU, torch::kBool).unsqueeze(-1).expand_as(selected).contiguous();
    const int64_t* s = selected.data_ptr<int64_t>();
    const bool* v = valid.data_ptr<bool>();
    for (int64_t i = 0; i < selected.numel(); ++i) {
      if (v[i] && s[i] >= 0) out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace elm::infer
