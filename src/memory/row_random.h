#pragma once
// Per-row random streams for the memory path's training noise (Gumbel selection, router and fusion
// dropout).
//
// Why: data-parallel training splits a global micro-batch across ranks, and K steps on R ranks
// must equal K steps in one process (and a run must resume on another rank count). That only holds
// if every random draw depends on the example (row) it belongs to, never on the batch size, the
// row's position in the local batch or the padded length T. A shared generator drawing for the
// whole [B, T, ...] tensor breaks all three.
//
// How: row b has a seed (from the trainer, e.g. derived from the example index and the step). A
// draw for stream s (a purpose such as kGumbel, within a scope such as the memory layer) seeds a
// fresh CPU generator with mix(mix(seed_b, scope), s), draws [n_valid_b, ...] uniforms, where
// n_valid_b is the row's count of valid tokens, and scatters them into the row's valid positions in
// order (zeros at padding). So a row gets the same values whatever else is in the batch, wherever
// it sits, and however it is padded (left or right).
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "core/random.h"

namespace elm::memory {

// The mixer of seeds and stream ids is elm::splitmix64 (core/random.h), a bijection of uint64.
// A seed for `stream` within `seed`: distinct streams give distinct seeds.
uint64_t mix_seed(uint64_t seed, uint64_t stream);

// Stream ids within a memory layer's scope (RowRandom::scoped(layer)).
namespace row_stream {
inline constexpr uint64_t kGumbel = 1;         // training selection's Gumbel noise
inline constexpr uint64_t kFusionDropout = 2;  // GatedMemoryFusion's output dropout
// Router residual block `block`'s dropout.
inline constexpr uint64_t router_dropout(int64_t block) { return 16 + static_cast<uint64_t>(block); }
}  // namespace row_stream

class RowRandom {
 public:
  // row_seeds: one per batch row; token_valid [B, T] bool (B must equal row_seeds.size(), else an
  // elm::Error naming both).
  RowRandom(std::vector<uint64_t> row_seeds, const torch::Tensor& token_valid);

  // The same rows with `scope` mixed into every stream (the memory layer: its draws differ from
  // another layer's with the same stream id).
  RowRandom scoped(uint64_t scope) const;
  // The same rows and scope with exactly one position per row, valid even in a row without real
  // tokens: for the sequence_mean router, which routes query.narrow(1, 0, 1) [B, 1, d] once per
  // sequence. That query is the mean over the row's real tokens (equal at every position, padding
  // included), so one draw per row keeps its dropout independent of T and of padding.
  RowRandom one_position_per_row() const;

  int64_t batch_size() const { return static_cast<int64_t>(seeds_.size()); }
  int64_t length() const { return valid_.size(1); }
  const torch::Tensor& token_valid() const { return valid_; }  // [B, T] bool, CPU
  // The generator seed of row `row` for `stream` (scope included).
  uint64_t stream_seed(int64_t row, uint64_t stream) const;

  // U[0, 1) noise of `shape` [B, T, ...] in `dtype` on `device`: row b's valid positions hold, in
  // order, a [n_valid_b, ...] draw of the row's generator for `stream`; padding positions hold 0.
  // Drawn on the CPU (the generators are CPU generators), then moved.
  torch::Tensor uniform(uint64_t stream, at::IntArrayRef shape, torch::ScalarType dtype, torch::Device device) const;
  // Standard Gumbel noise -log(-log U) from uniform() (finite at padding positions).
  torch::Tensor gumbel(uint64_t stream, at::IntArrayRef shape, torch::ScalarType dtype, torch::Device device) const;
  // Inverted dropout x * (U >= p) / (1 - p) with U = uniform(stream, x.sizes()); x itself when
  // p == 0 or not training. Padding positions are dropped (U = 0 there); nothing real reads them.
  torch::Tensor dropout(const torch::Tensor& x, double p, bool training, uint64_t stream) const;

 private:
  RowRandom(std::vector<uint64_t> seeds, torch::Tensor valid, std::vector<int64_t> counts);

  std::vector<uint64_t> seeds_;  // per row, with the scope already mixed in
  torch::Tensor valid_;          // [B, T] bool, CPU
  std::vector<int64_t> counts_;  // valid tokens per row
};

}  // namespace elm::memory
