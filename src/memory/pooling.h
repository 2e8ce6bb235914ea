#pragma once
// The router query: pooled h_mem (ARCHITECTURE 3.2).
//   causal_prefix: position t gets the mean of the valid positions <= t (no leak).
//   sequence_mean: every position gets the mean of all valid positions (the reference; leaks).
// With a KV cache the running sum and count continue across forward calls (PoolState), so
// incremental decoding equals a full forward.
#include <torch/torch.h>

#include "memory/memory_config.h"

namespace elm::memory {

struct PoolState {
  torch::Tensor sum;    // [B, d] float32 (or the input's dtype if wider): sum of the valid positions so far
  torch::Tensor count;  // [B] same dtype: number of valid positions so far
  bool defined() const { return sum.defined(); }
};

// x [B, T, d], valid [B, T] bool (undefined = all). `past` (may be null or undefined) holds the
// totals of earlier calls; when `next` is given it receives the totals including this call.
// Positions before any valid token (left padding) get a zero query.
torch::Tensor pool_queries(const torch::Tensor& x, const torch::Tensor& valid, QueryPooling mode,
                           const PoolState* past = nullptr, PoolState* next = nullptr);

}  // namespace elm::memory
