#include "memory/pooling.h"

#include "core/error.h"

namespace elm::memory {

torch::Tensor pool_queries(const torch::Tensor& x, const torch::Tensor& valid_in, QueryPooling mode,
                           const PoolState* past, PoolState* next, const torch::Tensor& scores) {
  ELM_CHECK(x.dim() == 3, "pool_queries: x must be [B, T, d], got ", x.sizes());
  const int64_t B = x.size(0), T = x.size(1), d = x.size(2);
  // Sums and counts accumulate in float64 (also across calls, in PoolState), so a prefix pooled
  // in chunks with a KV cache matches one pass over the whole sequence; the query is f32.
  const auto out_dtype = x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat32;
  const auto dtype = torch::kDouble;
  auto xf = x.to(dtype);
  auto valid = valid_in.defined() ? valid_in.to(x.device(), torch::kBool) : torch::ones({B, T}, torch::kBool).to(x.device());
  ELM_CHECK(valid.sizes() == torch::IntArrayRef({B, T}), "pool_queries: mask ", valid.sizes(), " != [", B, ", ", T, "]");
  auto w = valid.to(dtype);
  if (mode == QueryPooling::kWeightedPrefix) {
    ELM_CHECK(scores.defined() && scores.sizes() == torch::IntArrayRef({B, T}),
              "pool_queries: weighted_prefix needs scores [", B, ", ", T, "]");
    w = w * torch::sigmoid(scores.to(x.device(), dtype).clamp(-kMaxPoolScore, kMaxPoolScore));
  }
  auto masked = xf * w.unsqueeze(-1);
  const bool has_past = past && past->defined();
  if (has_past) {
    ELM_CHECK(past->sum.size(0) == B && past->sum.size(1) == d, "pool_queries: pooling state is [", past->sum.size(0),
              ", ", past->sum.size(1), "], input is [", B, ", ", T, ", ", d, "]");
  }
  torch::Tensor pooled, total, total_count;
  if (mode != QueryPooling::kSequenceMean) {
    // The running sum continues sequentially from the past total.
    auto sums = has_past ? torch::cat({past->sum.to(dtype).unsqueeze(1), masked}, 1).cumsum(1).narrow(1, 1, T)
                         : masked.cumsum(1);
    auto counts = has_past ? w.cumsum(1) + past->count.to(dtype).unsqueeze(1) : w.cumsum(1);
    // A weight sum is > 0 exactly when a valid position was seen (sigmoid(-kMaxPoolScore) > 0 in double).
    auto denom = torch::where(counts.gt(0), counts, torch::ones_like(counts));
    pooled = (sums / denom.unsqueeze(-1)).to(out_dtype);
    if (next && T > 0) {
      total = sums.select(1, T - 1);
      total_count = counts.select(1, T - 1);
    }
  } else {
    total = masked.sum(1);
    total_count = w.sum(1);
    if (has_past) {
      total = total + past->sum.to(dtype);
      total_count = total_count + past->count.to(dtype);
    }
    pooled = (total / total_count.clamp_min(1).unsqueeze(-1)).to(out_dtype).unsqueeze(1).expand({B, T, d});
  }
  if (next) {
    if (!total.defined()) {  // T == 0: nothing new
      total = has_past ? past->sum.to(dtype) : torch::zeros({B, d}, xf.options());
      total_count = has_past ? past->count.to(dtype) : torch::zeros({B}, xf.options());
    }
    next->sum = total.detach();
    next->count = total_count.detach();
  }
  return pooled;
}

}  // namespace elm::memory
