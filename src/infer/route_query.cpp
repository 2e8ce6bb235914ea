#include "infer/route_query.h"

#include <algorithm>

#include "core/error.h"

namespace elm::infer {
namespace {

// Puts the model in eval mode for a scope and restores the mode it had.
class EvalScope {
 public:
  explicit EvalScope(memory::ExplicitLM& lm) : lm_(lm), was_training_(lm.is_training()) { lm_.eval(); }
  ~EvalScope() { lm_.train(was_training_); }
  EvalScope(const EvalScope&) = delete;
  EvalScope& operator=(const EvalScope&) = delete;

 private:
  memory::ExplicitLM& lm_;
  bool was_training_;
};

}  // namespace

RouteFunction make_router_route(memory::ExplicitLM& lm, int64_t layer) {
  const auto& layers = lm.memory_layers();
  ELM_CHECK(!layers.empty(), "route: the model has no memory layer");
  const int64_t target = layer < 0 ? *std::min_element(layers.begin(), layers.end()) : layer;
  lm.layer(target);  // an error naming the layer when it has no memory
  return [&lm, target](const std::vector<int32_t>& fact_ids) -> std::vector<int64_t> {
    ELM_CHECK(!fact_ids.empty(), "route: a fact without tokens has no router query");
    torch::NoGradGuard no_grad;
    EvalScope eval(lm);
    const auto& backbone = lm.backbone();
    const auto device = backbone.weights().embed_tokens.device();
    auto ids = torch::tensor(std::vector<int64_t>(fact_ids.begin(), fact_ids.end()), torch::kInt64)
                   .unsqueeze(0)
                   .to(device);
    auto hidden = backbone.embed(ids);
    auto ctx = backbone.make_context(ids, torch::Tensor(), nullptr);
    std::vector<memory::MemoryLayerOutput> outputs;
    lm.forward_layers(hidden, ctx, 0, target + 1, {}, &outputs);
    for (const auto& out : outputs) {
      if (out.layer != target) continue;
      auto row = out.candidate_indices[0][ids.size(1) - 1].to(torch::kCPU, torch::kInt64).contiguous();
      const int64_t* p = row.data_ptr<int64_t>();
      return std::vector<int64_t>(p, p + row.numel());
    }
    fail("route: memory layer ", target, " produced no output");
  };
}

}  // namespace elm::infer
