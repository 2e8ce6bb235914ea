#include "infer/sampler.h"

#include <unordered_set>

#include "core/error.h"

namespace elm::infer {

void SamplingOptions::validate() const {
  ELM_CHECK(temperature >= 0, "temperature must be >= 0, got ", temperature);
  ELM_CHECK(top_p > 0 && top_p <= 1, "top_p must be in (0, 1], got ", top_p);
  ELM_CHECK(top_k >= 0, "top_k must be >= 0, got ", top_k);
  ELM_CHECK(repetition_penalty > 0, "repetition_penalty must be > 0, got ", repetition_penalty);
}

Sampler::Sampler(SamplingOptions options) : options_(options), rng_(options.seed) { options_.validate(); }

void apply_repetition_penalty(torch::Tensor& logits, const std::vector<int64_t>& history, double penalty) {
  if (penalty == 1.0 || history.empty()) return;
  ELM_CHECK(logits.dim() == 1 && logits.is_contiguous() && logits.scalar_type() == torch::kFloat32,
            "repetition penalty needs one contiguous f32 row of logits");
  float* data = logits.data_ptr<float>();
  const int64_t V = logits.size(0);
  std::unordered_set<int64_t> seen(history.begin(), history.end());
  for (int64_t id : seen) {
    if (id < 0 || id >= V) continue;
    data[id] = data[id] > 0 ? static_cast<float>(data[id] / penalty) : static_cast<float>(data[id] * penalty);
  }
}

torch::Tensor filtered_probabilities(const torch::Tensor& logits, double temperature, int64_t top_k, double top_p) {
  auto scaled = logits / temperature;
  const int64_t V = scaled.size(0);
  if (top_k > 0 && top_k < V) {
    auto kth = std::get<0>(scaled.topk(top_k)).index({top_k - 1});
    scaled = scaled.masked_fill(scaled < kth, -std::numeric_limits<float>::infinity());
  }
  auto probs = torch::softmax(scaled, 0);
  if (top_p < 1.0) {
    // Keep the smallest set of most likely tokens whose mass reaches top_p (HF: drop tokens whose
    // cumulative mass, counted from the least likely, is <= 1 - top_p; always keep the top one).
    auto [sorted, order] = probs.sort(0, /*descending=*/false);
    auto cumulative = sorted.cumsum(0);
    auto remove_sorted = cumulative <= (1.0 - top_p);
    remove_sorted.index_put_({V - 1}, false);
    auto remove = torch::zeros_like(remove_sorted).scatter(0, order, remove_sorted);
    probs = probs.masked_fill(remove, 0.0);
    probs = probs / probs.sum();
  }
  return probs;
}

int64_t Sampler::next(const torch::Tensor& logits_in, const std::vector<int64_t>& history) {
  ELM_CHECK(logits_in.dim() == 1, "sampler expects one row of logits");
  auto logits = logits_in.to(torch::kFloat32).contiguous().clone();
  ELM_CHECK(logits.numel() > 0 && torch::isfinite(logits).all().item<bool>(),
            "the model produced non-finite logits (NaN or inf); check the weights and dtype");
  apply_repetition_penalty(logits, history, options_.repetition_penalty);
  if (options_.greedy || options_.temperature == 0.0) return logits.argmax().item<int64_t>();

  auto probs = filtered_probabilities(logits, options_.temperature, options_.top_k, options_.top_p).contiguous();
  // Inverse-CDF draw with our own seeded engine: reproducible across LibTorch versions.
  const float* p = probs.data_ptr<float>();
  const int64_t V = probs.size(0);
  double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  double acc = 0.0;
  int64_t last_nonzero = 0;
  for (int64_t i = 0; i < V; ++i) {
    if (p[i] <= 0) continue;
    last_nonzero = i;
    acc += p[i];
    if (u < acc) return i;
  }
  return last_nonzero;  // rounding left u above the total mass
}

}  // namespace elm::infer
