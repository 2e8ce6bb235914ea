#include "train/step_losses.h"

#include "core/error.h"
#include "memory/losses.h"

namespace elm::train {

torch::Tensor masked_lm_loss(const model::Qwen3Model& model, const torch::Tensor& hidden, const torch::Tensor& targets,
                             int64_t* count) {
  auto mask = targets.ne(kIgnoreIndex);
  const int64_t n = mask.sum().item<int64_t>();
  if (count) *count = n;
  if (n == 0) return hidden.sum().to(torch::kFloat32) * 0.0;
  auto selected = hidden.index({mask});  // [P, H]
  auto logits = model.lm_head(selected);  // [P, V] f32
  return torch::nn::functional::cross_entropy(logits, targets.index({mask}));
}

torch::Tensor query_positions(const Batch& batch) {
  const int64_t B = batch.input_ids.size(0), T = batch.input_ids.size(1);
  auto has_target = batch.targets.ne(kIgnoreIndex);
  // First target position (argmax of a bool picks the first true); rows without one: last real token.
  auto first_target = has_target.to(torch::kInt64).argmax(1);
  auto last_real = batch.attention_mask.sum(1) - 1;
  auto any = has_target.any(1);
  auto pos = torch::where(any, first_target, last_real).clamp(0, T - 1);
  ELM_CHECK(pos.size(0) == B, "query_positions: batch shape");
  return pos;
}

namespace {

torch::Tensor at_positions(const torch::Tensor& x, const torch::Tensor& pos) {
  // x [B, T, ...] -> [B, ...] at pos[b].
  auto rows = torch::arange(x.size(0), torch::kInt64);
  return x.index({rows, pos});
}

}  // namespace

StepLosses memory_step_losses(memory::ExplicitLM& lm, const Batch& batch, Stage stage, const LossWeights& w) {
  ELM_CHECK(stage != Stage::backbone, "memory_step_losses: the backbone stage has no memory");
  StepLosses out;
  memory::ExplicitForwardOptions fo;
  fo.attention_mask = batch.attention_mask;
  fo.logits = model::LogitsMode::kNone;
  // The router stage leaves the hidden state untouched: alpha = 0 keeps the fusion out of the graph.
  fo.force_zero_alpha = stage == Stage::router;
  auto result = lm.forward(batch.input_ids, fo);
  out.tokens = batch.attention_mask.sum().item<int64_t>();

  const bool has_targets = batch.target_indices.defined();
  auto pos = query_positions(batch);
  std::vector<torch::Tensor> router_losses;
  double alpha = 0, hit = 0, recall = 0;
  for (const auto& layer : result.layers) {
    alpha += at_positions(layer.alpha, pos).mean().item<double>();
    if (!has_targets) continue;
    auto h1 = at_positions(layer.half_logits[0], pos);
    auto h2 = at_positions(layer.half_logits[1], pos);
    router_losses.push_back(
        memory::router_soft_label_loss(h1, h2, batch.target_indices, batch.target_scores, w.router_temperature));
    // The best-scored target of each row (targets are padded with -1 and score 0).
    auto best = batch.target_scores.argmax(1, true);
    auto target = batch.target_indices.gather(1, best).squeeze(1);  // [B]
    auto named = target.ge(0);
    const double rows = std::max<int64_t>(1, named.sum().item<int64_t>());
    auto selected = at_positions(layer.selected_indices, pos);    // [B, k]
    auto candidates = at_positions(layer.candidate_indices, pos); // [B, C]
    hit += (selected.eq(target.unsqueeze(1)).any(1) & named).sum().item<double>() / rows;
    recall += (candidates.eq(target.unsqueeze(1)).any(1) & named).sum().item<double>() / rows;
  }
  const double layers = static_cast<double>(std::max<size_t>(1, result.layers.size()));
  out.alpha = alpha / layers;
  if (has_targets) {
    out.selection_hit = hit / layers;
    out.router_recall = recall / layers;
  }

  torch::Tensor total;
  auto add = [&](torch::Tensor term, double weight) {
    if (weight == 0) return;
    total = total.defined() ? total + weight * term : weight * term;
  };
  torch::Tensor router_loss;
  if (!router_losses.empty()) {
    router_loss = memory::mean_over_layers(router_losses);
    out.router = router_loss.item<double>();
  }
  if (stage == Stage::router) {
    ELM_CHECK(router_loss.defined(),
              "training.stage = router needs router targets: data.format = router, or qa records with \"index\"");
    total = router_loss;
  } else {
    auto ce = masked_lm_loss(lm.backbone(), result.hidden, batch.targets, &out.loss_tokens);
    out.ce = ce.item<double>();
    add(ce, w.ce);
    if (stage == Stage::joint) {
      out.similarity = result.similarity_loss.item<double>();
      out.diversity = result.diversity_loss.item<double>();
      add(result.similarity_loss, w.similarity);
      add(result.diversity_loss, w.diversity);
    }
    if (router_loss.defined()) add(router_loss, w.router);
    if (!total.defined()) total = ce * 0.0;  // every weight 0: a zero loss that keeps the graph
  }
  out.total = total;
  out.layers = std::move(result.layers);
  for (auto& l : out.layers) {
    // Statistics only need values; dropping the graph references keeps memory flat.
    l.alpha = l.alpha.detach();
    l.similarity = l.similarity.detach();
    l.similarity_loss = torch::Tensor();
    l.diversity_loss = torch::Tensor();
    l.half_logits = {};
    l.candidate_scores = torch::Tensor();
    l.selection_weights = torch::Tensor();
  }
  return out;
}

StepLosses backbone_step_losses(const model::Qwen3Model& model, const Batch& batch) {
  StepLosses out;
  model::ForwardOptions fo;
  fo.attention_mask = batch.attention_mask;
  fo.logits = model::LogitsMode::kNone;
  auto result = model.forward(batch.input_ids, fo);
  auto ce = masked_lm_loss(model, result.hidden, batch.targets, &out.loss_tokens);
  out.tokens = batch.attention_mask.sum().item<int64_t>();
  out.ce = ce.item<double>();
  out.total = ce;
  return out;
}

}  // namespace elm::train
