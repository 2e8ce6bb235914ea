#include "memory/fusion.h"

#include "core/error.h"

namespace elm::memory {

GatedMemoryFusionImpl::GatedMemoryFusionImpl(const FusionOptions& o, at::Generator gen) : options_(o) {
  ELM_CHECK(o.hidden_size > 0 && o.rank >= 0, "fusion: bad hidden size ", o.hidden_size, " or rank ", o.rank);
  const int64_t d = o.hidden_size;
  gate_proj = register_module("gate_proj", Projection(2 * d, d, o.rank, false, gen, LowRankInit::kRandomB));
  up_proj = register_module("up_proj", Projection(2 * d, d, o.rank, false, gen, LowRankInit::kRandomB));
  down_proj = register_module("down_proj", Projection(d, d, o.rank, false, gen, LowRankInit::kZeroB));
  if (o.rank == 0) {
    alpha_fc1 = register_module("alpha_fc1", Projection(1, o.alpha_hidden, 0, true, gen));
    alpha_fc2 = register_module("alpha_fc2", Projection(o.alpha_hidden, 1, 0, true, gen));
    alpha_bias = register_parameter("alpha_bias", torch::zeros({}, torch::kFloat32));
  }
}

torch::Tensor GatedMemoryFusionImpl::fuse(const torch::Tensor& h_mem, const torch::Tensor& selected,
                                        const RowRandom* random) {
  auto x = torch::cat({h_mem, selected}, -1);
  auto y = down_proj->forward(torch::silu(gate_proj->forward(x)) * up_proj->forward(x));
  if (random) return random->dropout(y, options_.dropout, is_training(), row_stream::kFusionDropout);
  return torch::dropout(y, options_.dropout, is_training());
}

torch::Tensor GatedMemoryFusionImpl::alpha(const torch::Tensor& similarity) {
  if (options_.rank > 0) return similarity.clamp(0.0, 1.0);
  auto s = similarity.unsqueeze(-1);
  auto gate = torch::sigmoid(alpha_fc2->forward(torch::gelu(alpha_fc1->forward(s)))).squeeze(-1);
  return (gate + alpha_bias).clamp(0.0, 1.0);
}

FusionOutput GatedMemoryFusionImpl::forward(const torch::Tensor& h, const torch::Tensor& h_mem,
                                            const torch::Tensor& selected, const torch::Tensor& similarity,
                                            bool force_zero_alpha, const torch::Tensor& active,
                                            const RowRandom* random) {
  ELM_CHECK(h.sizes() == h_mem.sizes() && h.sizes() == selected.sizes(), "fusion: h ", h.sizes(), ", h_mem ",
            h_mem.sizes(), " and selected ", selected.sizes(), " must have the same shape");
  FusionOutput out;
  out.fusion_out = fuse(h_mem, selected, random);
  if (force_zero_alpha) {
    // Exactly the backbone, even if the fusion output overflowed (0 * inf would be NaN).
    out.alpha = torch::zeros_like(similarity);
    out.hidden = h;
    return out;
  }
  out.alpha = alpha(similarity);
  // Tokens that read nothing from the bank (padding, or no valid candidate) get alpha 0, so an
  // emptied bank gives back the backbone instead of a bank-independent adapter.
  if (active.defined()) out.alpha = out.alpha * active.to(out.alpha.device(), out.alpha.scalar_type());
  out.hidden = h + (out.alpha.unsqueeze(-1) * out.fusion_out).to(h.scalar_type());
  return out;
}

}  // namespace elm::memory
