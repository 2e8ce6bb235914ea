#pragma once
// The product-key router (MemoryGate), ARCHITECTURE 3.3.
//
//   query net: query_proj Linear(d, d) -> blocks x + Drop(fc2 GELU(fc1 LN(x))) (d -> 2d -> d)
//              -> out_norm LN -> out_proj Linear(d, knowledge_dim)
//   the query is split in halves, each L2-normalised and compared (cosine) with
//   keys[2, sqrt(N), knowledge_dim/2] (L2-normalised), times exp(logit_scale) (clamped at 100);
//   top num_candidates_internal per half, Cartesian sum of the two scores, entry index
//   i * sqrt(N) + j, top num_candidates of the sums, softmax.
//
// Full: 2 residual blocks, Linear layers with bias. LoRA (rank > 0): 1 residual block, every Linear
// is (B A) x + bias with B zero-initialised (see projection.h).
// Parameter names: query_proj.*, blocks.{0,1}.{norm,fc1,fc2}.*, out_norm.{weight,bias},
// out_proj.*, keys, logit_scale. Keys loaded from a file are a buffer (frozen), not a parameter.
#include <array>
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "memory/projection.h"
#include "memory/row_random.h"

namespace elm::memory {

struct RouterOptions {
  int64_t hidden_size = 0;              // d
  int64_t knowledge_num = 0;            // N (perfect square)
  int64_t knowledge_dim = 0;            // even
  int64_t num_candidates = 8;           // C
  int64_t num_candidates_internal = 32; // per half, <= sqrt(N)
  int64_t rank = 0;                     // LoRA rank; 0 = full
  double dropout = 0.0;
  torch::Tensor frozen_keys;            // [2, sqrt(N), knowledge_dim/2] or undefined (random, trained)
};

// The initial logit scale, log(1/0.07), and the cap on exp(logit_scale).
inline constexpr double kInitialLogitScale = 2.6592600369327779;  // log(1 / 0.07)
inline constexpr double kMaxScale = 100.0;

struct RouterOutput {
  torch::Tensor indices;           // [..., C] int64 bank entry indices i * sqrt(N) + j, best first
  torch::Tensor scores;            // [..., C] softmax over the C candidate logits
  torch::Tensor logits;            // [..., C] the candidates' summed scaled cosines (pre-softmax)
  std::array<torch::Tensor, 2> half_logits;  // [..., sqrt(N)] scaled cosines of each half (router loss)
};

class RouterBlockImpl : public torch::nn::Module {
 public:
  RouterBlockImpl(int64_t dim, int64_t rank, double dropout, at::Generator gen);
  // random (optional, training): draw the dropout mask from its stream `stream` (per row, see
  // row_random.h) instead of the global generator; x is then [B, T, d] with T = random->length().
  torch::Tensor forward(const torch::Tensor& x, const RowRandom* random = nullptr, uint64_t stream = 0);
  torch::nn::LayerNorm norm{nullptr};
  Projection fc1{nullptr}, fc2{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(RouterBlock);

class MemoryGateImpl : public torch::nn::Module {
 public:
  MemoryGateImpl(const RouterOptions& options, at::Generator gen);

  // x [..., d] -> query [..., knowledge_dim] (before the split and normalisation).
  // random (optional): block i's dropout comes from random's stream row_stream::router_dropout(i);
  // x must then be [B, T, d] matching random's [B, T].
  torch::Tensor query(const torch::Tensor& x, const RowRandom* random = nullptr);
  // x [..., d] (any leading shape) -> candidates for every query. random: as for query().
  RouterOutput forward(const torch::Tensor& x, const RowRandom* random = nullptr);

  // exp(logit_scale) clamped at kMaxScale (a 0-dim tensor with gradient).
  torch::Tensor scale() const;
  // keys L2-normalised over the last dimension: [2, sqrt(N), knowledge_dim/2].
  torch::Tensor normalized_keys() const;
  bool keys_frozen() const { return keys_frozen_; }
  const RouterOptions& options() const { return options_; }
  int64_t grid_size() const { return grid_; }

  Projection query_proj{nullptr}, out_proj{nullptr};
  torch::nn::ModuleList blocks;
  torch::nn::LayerNorm out_norm{nullptr};
  torch::Tensor keys, logit_scale;

 private:
  RouterOptions options_;
  int64_t grid_;
  bool keys_frozen_;
};
TORCH_MODULE(MemoryGate);

// The product-key candidate search on queries [..., knowledge_dim] and keys [2, n, knowledge_dim/2]:
// each query half and each key is L2-normalised here; `scale` multiplies the cosines. Returns
// the top `num_candidates` of the Cartesian sums of the top `num_candidates_internal` per half.
RouterOutput product_key_search(const torch::Tensor& query, const torch::Tensor& keys, const torch::Tensor& scale,
                                int64_t num_candidates_internal, int64_t num_candidates);

// Reads router keys [2, sqrt(N), knowledge_dim/2] from a safetensors file: the tensor
// `memory.layers.<layer>.router.keys` when present, else `keys`. Errors name the file, the tensor
// and the expected shape.
torch::Tensor load_router_keys(const std::string& path, int64_t layer, int64_t knowledge_num, int64_t knowledge_dim);

}  // namespace elm::memory
