#pragma once
// Selection of k entries per token among the C candidates (ARCHITECTURE 3.5).
//
// Scores ("selection logits") are either the cosine of h_mem with each candidate (the seed) or,
// with the learned content matcher, exp(log_scale) * cosine(W * pooled query, candidate),
// optionally plus the router's candidate logit (equivalently its log-probability: the softmax's
// normaliser is the same for every candidate of a query). Invalid candidates get -inf and are never
// picked. Training: hard Gumbel-softmax at `temperature` with a straight-through estimator
// (forward: the hard choice; backward: the gradient of softmax((logits + g) / temperature)).
// Evaluation: argmax (top-k). Noise comes from the given generator, so a seed fixes the choice.
#include <cstdint>

#include <torch/torch.h>

#include "memory/projection.h"

namespace elm::memory {

// Cosine of x [..., d] with each candidate [..., C, d] -> [..., C]; 0 for a zero vector.
torch::Tensor candidate_cosine(const torch::Tensor& x, const torch::Tensor& candidates);

// Standard Gumbel noise -log(-log U) of the given shape, drawn on the CPU from `generator` (the
// default generator when undefined) in `dtype`, then moved to `device`.
torch::Tensor gumbel_noise(at::IntArrayRef shape, torch::ScalarType dtype, torch::Device device,
                           const c10::optional<at::Generator>& generator);
// -log(-log U) for uniforms U in [0, 1), clamped so that U = 0 (or 1) still gives a finite value
// (shared by gumbel_noise and RowRandom::gumbel).
torch::Tensor gumbel_from_uniform(const torch::Tensor& u);

struct SelectionOptions {
  int64_t num_selected = 1;  // k
  bool training = false;     // Gumbel-softmax (true) or argmax (false)
  double temperature = 1.0;
  bool hard = true;          // training only: false returns the soft Gumbel-softmax weights (no straight-through)
  c10::optional<at::Generator> generator;
  torch::Tensor noise;       // training only: use this Gumbel noise [..., C] instead of drawing it
                             // (e.g. RowRandom::gumbel, independent of the batch's partition)
};

struct Selection {
  // [..., C]: weight of each candidate. Forward values: 1/m on the m = min(k, valid count) chosen
  // valid candidates, 0 elsewhere (all zero when no candidate is valid); in training with
  // hard=true the gradient is the soft path's. hard=false: the soft weights themselves.
  torch::Tensor weights;
  torch::Tensor positions;  // [..., k] int64 positions of the chosen candidates (best first), -1 = none
  torch::Tensor any_valid;  // [...] bool
};

// logits [..., C], valid [..., C] bool.
Selection select_candidates(const torch::Tensor& logits, const torch::Tensor& valid, const SelectionOptions& options);

// sum_c weights[..., c] * candidates[..., c, :] -> [..., d].
torch::Tensor combine_selected(const torch::Tensor& weights, const torch::Tensor& candidates);

// The learned content matcher (DEMO-NOTES 3): proj (d x d, no bias, initialised to the identity)
// and log_scale (initialised to log(1/0.07); exp(log_scale) is clamped at 100).
class ContentMatcherImpl : public torch::nn::Module {
 public:
  ContentMatcherImpl(int64_t dim, at::Generator gen);
  // cosine(proj(query) [..., d], candidates [..., C, d]) -> [..., C]
  torch::Tensor cosine(const torch::Tensor& query, const torch::Tensor& candidates);
  torch::Tensor scale() const;
  Projection proj{nullptr};
  torch::Tensor log_scale;
};
TORCH_MODULE(ContentMatcher);

}  // namespace elm::memory
