#pragma once
// Next-token choice from a row of logits, with HF generation semantics and order:
// repetition penalty -> temperature -> top-k -> top-p -> sample (or greedy argmax).
#include <cstdint>
#include <random>
#include <vector>

#include <torch/torch.h>

namespace elm::infer {

struct SamplingOptions {
  bool greedy = false;               // argmax; also implied by temperature == 0
  double temperature = 0.6;
  double top_p = 0.95;               // nucleus mass kept; 1 disables
  int64_t top_k = 20;                // 0 disables
  double repetition_penalty = 1.0;   // > 1 discourages tokens already in the sequence; 1 disables
  uint64_t seed = 0;

  void validate() const;  // throws elm::Error naming the bad option
};

class Sampler {
 public:
  explicit Sampler(SamplingOptions options);
  // logits: [V] float32. history: prompt and generated ids (for the repetition penalty).
  int64_t next(const torch::Tensor& logits, const std::vector<int64_t>& history);
  const SamplingOptions& options() const { return options_; }

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
};

// Applies the HF repetition penalty in place: logit > 0 ? logit / p : logit * p for seen ids.
void apply_repetition_penalty(torch::Tensor& logits, const std::vector<int64_t>& history, double penalty);
// Probabilities after temperature, top-k and top-p filtering (zeros for removed tokens).
torch::Tensor filtered_probabilities(const torch::Tensor& logits, double temperature, int64_t top_k, double top_p);

}  // namespace elm::infer
