#pragma once
// GatedMemoryFusion (ARCHITECTURE 3.6): fuses the selected memory into the hidden state.
//
//   fusion_out = Dropout(down_proj(silu(gate_proj(x)) * up_proj(x))),  x = concat(h_mem, selected)
//   full:  alpha = clamp(sigmoid(alpha_fc2(gelu(alpha_fc1(s)))) + alpha_bias, 0, 1)
//   LoRA:  alpha = clamp(s, 0, 1)
//   output = h + alpha * fusion_out
// where s is the mean cosine similarity of the selected entries (per token). gate/up: 2d -> d,
// down: d -> d, no biases. LoRA (rank > 0): each projection is B A; gate_proj and up_proj start
// random, down_proj starts with B = 0, so the fusion initially leaves h exactly unchanged while
// gradients still reach every projection (with B = 0 everywhere they would all be zero forever).
// Parameter names: gate_proj.*, up_proj.*, down_proj.*, alpha_fc1.*, alpha_fc2.*, alpha_bias.
#include <cstdint>

#include <torch/torch.h>

#include "memory/projection.h"
#include "memory/row_random.h"

namespace elm::memory {

struct FusionOptions {
  int64_t hidden_size = 0;   // d
  int64_t rank = 0;          // model.fusion_rank; 0 = full projections
  double dropout = 0.0;
  int64_t alpha_hidden = 16; // width of the alpha MLP (full variant)
};

struct FusionOutput {
  torch::Tensor hidden;      // [..., d] h + alpha * fusion_out, in h's dtype
  torch::Tensor alpha;       // [...] the gate per token (zeros when forced)
  torch::Tensor fusion_out;  // [..., d] float32
};

class GatedMemoryFusionImpl : public torch::nn::Module {
 public:
  GatedMemoryFusionImpl(const FusionOptions& options, at::Generator gen);

  // h_mem, selected [..., d] -> fusion_out [..., d] (dropout in training mode). random (optional):
  // the dropout mask comes from its stream row_stream::kFusionDropout (inputs [B, T, d]).
  torch::Tensor fuse(const torch::Tensor& h_mem, const torch::Tensor& selected, const RowRandom* random = nullptr);
  // similarity [...] -> alpha [...]
  torch::Tensor alpha(const torch::Tensor& similarity);
  // h is the backbone's hidden state (any float dtype); the rest float32 (or double in tests).
  // force_zero_alpha: alpha = 0 and the output is h itself. active [...] (bool, optional): tokens
  // that read a bank entry; alpha is 0 elsewhere. random: as for fuse().
  FusionOutput forward(const torch::Tensor& h, const torch::Tensor& h_mem, const torch::Tensor& selected,
                       const torch::Tensor& similarity, bool force_zero_alpha = false,
                       const torch::Tensor& active = {}, const RowRandom* random = nullptr);

  bool low_rank() const { return options_.rank > 0; }
  const FusionOptions& options() const { return options_; }

  Projection gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
  Projection alpha_fc1{nullptr}, alpha_fc2{nullptr};  // full variant only
  torch::Tensor alpha_bias;                           // full variant only

 private:
  FusionOptions options_;
};
TORCH_MODULE(GatedMemoryFusion);

}  // namespace elm::memory
