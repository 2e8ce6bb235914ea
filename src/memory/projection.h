#pragma once
// A linear map that is either full (`weight` [out, in], optional `bias`) or low rank
// (`A` [rank, in], `B` [out, rank], optional `bias`): y = x A^T B^T + bias. The low-rank form is
// the LoRA variant of the memory modules: with B = 0 its weight contribution is exactly zero.
// Parameter names are part of the checkpoint format: weight, bias, A, B.
#include <cstdint>

#include <torch/torch.h>

namespace elm::memory {

enum class LowRankInit { kZeroB, kRandomB };

class ProjectionImpl : public torch::nn::Module {
 public:
  // Full when rank == 0. Weights (and A, and B with kRandomB) ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
  // bias likewise (as torch.nn.Linear); kZeroB sets B = 0. Deterministic for a given generator.
  ProjectionImpl(int64_t in_features, int64_t out_features, int64_t rank, bool bias, at::Generator generator,
                 LowRankInit low_rank_init = LowRankInit::kZeroB);

  torch::Tensor forward(const torch::Tensor& x);

  bool low_rank() const { return rank_ > 0; }
  int64_t rank() const { return rank_; }
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  // The dense [out, in] weight this projection applies (B A for the low-rank form).
  torch::Tensor effective_weight() const;

  torch::Tensor weight, bias, A, B;  // undefined where the form has no such tensor

 private:
  int64_t in_, out_, rank_;
};
TORCH_MODULE(Projection);

// A CPU generator seeded with `seed` (for deterministic initialisation and Gumbel noise).
at::Generator make_generator(uint64_t seed);

}  // namespace elm::memory
