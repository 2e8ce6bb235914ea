#pragma once
// The router query: pooled h_mem (ARCHITECTURE 3.2).
//   causal_prefix: position t gets the mean of the valid positions <= t (no leak).
//   sequence_mean: every position gets the mean of all valid positions (the reference; leaks).
//   weighted_prefix: position t gets sum_{s<=t} w_s h_s / sum_{s<=t} w_s over valid positions, with
//     w_s = sigmoid(clamp(scores_s, -kMaxPoolScore, kMaxPoolScore)); the memory layer learns the
//     scores from h_mem, so the query can lean on the tokens that name the entry (a rare name)
//     rather than on the question's common words. The weights are bounded by 1 (not exp(score)) so
//     that one word the scorer never saw cannot outweigh the name: with exp weights, a router
//     trained on the demo's questions found 0% of the entries for "{name} works as what?".
// With a KV cache the running sum and count continue across forward calls (PoolState), so
// incremental decoding equals a full forward.
#include <torch/torch.h>

#include "memory/memory_config.h"

namespace elm::memory {

// Keeps every weight > 0 in double, so a valid position always counts.
inline constexpr double kMaxPoolScore = 30.0;

struct PoolState {
  torch::Tensor sum;    // [B, d] float64: (weighted) sum of the valid positions so far
  torch::Tensor count;  // [B] float64: number (total weight) of the valid positions so far
  bool defined() const { return sum.defined(); }
};

// x [B, T, d], valid [B, T] bool (undefined = all). `past` (may be null or undefined) holds the
// totals of earlier calls; when `next` is given it receives the totals including this call.
// Positions before any valid token (left padding) get a zero query. scores [B, T] are required for
// weighted_prefix and ignored otherwise; gradients flow into them.
torch::Tensor pool_queries(const torch::Tensor& x, const torch::Tensor& valid, QueryPooling mode,
                           const PoolState* past = nullptr, PoolState* next = nullptr,
                           const torch::Tensor& scores = {});

}  // namespace elm::memory
