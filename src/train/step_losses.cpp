#include "train/step_losses.h"

#include "core/error.h"
#include "memory/losses.h"
#include "train/data_parallel.h"

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

int64_t named_rows(const Batch& batch) {
  if (!batch.target_indices.defined()) return 0;
  auto best = batch.target_scores.argmax(1, true);
  return batch.target_indices.gather(1, best).ge(0).sum().item<int64_t>();
}

LayerQueryTerms layer_query_terms(const memory::MemoryLayerOutput& layer, const Batch& batch, const torch::Tensor& pos,
                                  double temperature, const torch::Tensor& zero) {
  LayerQueryTerms out;
  out.router = zero;
  out.alpha = at_positions(layer.alpha, pos).sum().item<double>();
  if (!batch.target_indices.defined()) return out;
  out.queries = memory::router_query_count(batch.target_indices);
  if (out.queries > 0) {
    auto h1 = at_positions(layer.half_logits[0], pos);
    auto h2 = at_positions(layer.half_logits[1], pos);
    out.router = memory::router_soft_label_loss(h1, h2, batch.target_indices, batch.target_scores, temperature);
  }
  // The best-scored target of each row (targets are padded with -1 and score 0).
  auto best = batch.target_scores.argmax(1, true);
  auto target = batch.target_indices.gather(1, best).squeeze(1);  // [B]
  auto named = target.ge(0);
  auto selected = at_positions(layer.selected_indices, pos);    // [B, k]
  auto candidates = at_positions(layer.candidate_indices, pos); // [B, C]
  out.hit = static_cast<double>((selected.eq(target.unsqueeze(1)).any(1) & named).sum().item<int64_t>());
  out.recall = static_cast<double>((candidates.eq(target.unsqueeze(1)).any(1) & named).sum().item<int64_t>());
  return out;
}

namespace {

// Finishes a StepLosses whose terms and local metric sums are filled: sums the denominators and
// numerators over the global batch (one all-reduce under data parallelism), then sets the total
// (this rank's share of the global loss) and the global metric values.
struct LocalSums {
  double rows = 0, alpha = 0;          // rows; sum over rows of alpha (mean over layers)
  double named = 0, hit = 0, recall = 0;  // rows naming a target; their hits and recalls (mean over layers)
  double tokens = 0;
};

void finish(StepLosses& out, const LocalSums& local, const GlobalBatch& global, Stage stage) {
  // [count_t, count_t * mean_t for each term, then the metric sums]: the same layout on every rank
  // (the terms depend on the stage and weights only, never on the data).
  const size_t n = out.terms.size();
  std::vector<double> sums(2 * n + 6, 0.0);
  if (!global.placeholder) {
    for (size_t i = 0; i < n; ++i) {
      sums[i] = static_cast<double>(out.terms[i].count);
      sums[n + i] = out.terms[i].count > 0 ? static_cast<double>(out.terms[i].count) * out.terms[i].mean.item<double>() : 0.0;
    }
    sums[2 * n + 0] = local.rows;
    sums[2 * n + 1] = local.alpha;
    sums[2 * n + 2] = local.named;
    sums[2 * n + 3] = local.hit;
    sums[2 * n + 4] = local.recall;
    sums[2 * n + 5] = local.tokens;
  }
  const int ranks = global.ranks();
  sum_over_ranks(global.group, sums);

  torch::Tensor total;
  double loss = 0;
  for (size_t i = 0; i < n; ++i) {
    const LossTerm& term = out.terms[i];
    const double global_count = sums[i];
    if (term.name == "router" && stage == Stage::router) {
      ELM_CHECK(global_count > 0,
                "training.stage = router needs router targets: data.format = router, or qa records with \"index\"");
    }
    // The local mean weighs count / global_count of the global mean; the ranks' gradients are
    // averaged, hence the factor `ranks`. One process: the factor is exactly 1 and is skipped.
    torch::Tensor part = term.weight * term.mean;
    if (ranks > 1 || global.placeholder) {
      const double share =
          global.placeholder || global_count == 0 ? 0.0 : static_cast<double>(term.count) * ranks / global_count;
      part = part * share;
    }
    total = total.defined() ? total + part : part;
    if (global_count > 0) loss += term.weight * sums[n + i] / global_count;
  }
  out.total = total;
  out.loss = loss;
  auto global_mean = [&](const std::string& name) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; ++i) {
      if (out.terms[i].name != name) continue;
      num += sums[n + i];
      den += sums[i];
    }
    return den > 0 ? num / den : std::numeric_limits<double>::quiet_NaN();
  };
  auto per_layer_mean = [&](const std::string& name) {
    // similarity / diversity / router: the mean over memory layers of each layer's global mean.
    double acc = 0;
    int layers = 0;
    for (size_t i = 0; i < n; ++i) {
      if (out.terms[i].name != name) continue;
      ++layers;
      if (sums[i] > 0) acc += sums[n + i] / sums[i];
    }
    return layers > 0 ? acc / layers : std::numeric_limits<double>::quiet_NaN();
  };
  out.ce = global_mean("ce");
  out.similarity = per_layer_mean("similarity");
  out.diversity = per_layer_mean("diversity");
  out.router = global_mean("router");  // every layer counts the same queries
  const double rows = sums[2 * n + 0], named = sums[2 * n + 2];
  out.rows = static_cast<int64_t>(rows);
  out.tokens = static_cast<int64_t>(sums[2 * n + 5]);
  for (size_t i = 0; i < n; ++i) {
    if (out.terms[i].name == "ce") out.loss_tokens = static_cast<int64_t>(sums[i]);
  }
  if (stage != Stage::backbone && rows > 0) out.alpha = sums[2 * n + 1] / rows;
  if (named > 0) {
    out.selection_hit = sums[2 * n + 3] / named;
    out.router_recall = sums[2 * n + 4] / named;
  }
}

}  // namespace

StepLosses memory_step_losses(memory::ExplicitLM& lm, const Batch& batch, Stage stage, const LossWeights& w,
                              const GlobalBatch& global, const std::vector<uint64_t>& row_seeds) {
  ELM_CHECK(stage != Stage::backbone, "memory_step_losses: the backbone stage has no memory");
  StepLosses out;
  memory::ExplicitForwardOptions fo;
  fo.attention_mask = batch.attention_mask;
  fo.logits = model::LogitsMode::kNone;
  fo.row_seeds = row_seeds;
  // The router stage leaves the hidden state untouched: alpha = 0 keeps the fusion out of the graph.
  fo.force_zero_alpha = stage == Stage::router;
  auto result = lm.forward(batch.input_ids, fo);
  LocalSums local;
  local.tokens = static_cast<double>(batch.attention_mask.sum().item<int64_t>());
  local.rows = static_cast<double>(batch.size());

  const auto num_layers = static_cast<double>(std::max<size_t>(1, result.layers.size()));
  const double router_weight = (stage == Stage::router ? 1.0 : w.router) / num_layers;
  auto pos = query_positions(batch);
  torch::Tensor zero = result.hidden.sum().to(torch::kFloat32) * 0.0;  // a zero that keeps the graph
  for (const auto& layer : result.layers) {
    const LayerQueryTerms q = layer_query_terms(layer, batch, pos, w.router_temperature, zero);
    local.alpha += q.alpha / num_layers;
    local.hit += q.hit / num_layers;
    local.recall += q.recall / num_layers;
    // Always a term (weight 0 unless trained): the router loss is also a metric, and the terms
    // must not depend on the data (their sums are reduced across ranks position by position).
    out.terms.push_back({"router", q.router, router_weight, q.queries});
  }
  local.named = static_cast<double>(named_rows(batch));
  if (stage != Stage::router) {
    int64_t loss_tokens = 0;
    auto ce = masked_lm_loss(lm.backbone(), result.hidden, batch.targets, &loss_tokens);
    out.terms.push_back({"ce", ce, w.ce, loss_tokens});
    if (stage == Stage::joint) {
      for (const auto& layer : result.layers) {
        out.terms.push_back({"similarity", layer.similarity_loss, w.similarity / num_layers,
                             memory::similarity_count(layer.similarity, layer.token_valid)});
      }
      for (const auto& layer : result.layers) {
        out.terms.push_back({"diversity", layer.diversity_loss, w.diversity / num_layers,
                             memory::diversity_pair_count(layer.candidate_valid, layer.token_valid)});
      }
    }
  }
  if (out.terms.empty()) out.terms.push_back({"ce", zero, 0.0, 0});  // every weight 0: a zero loss that keeps the graph
  finish(out, local, global, stage);
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

StepLosses backbone_step_losses(const model::Qwen3Model& model, const Batch& batch, const GlobalBatch& global) {
  StepLosses out;
  model::ForwardOptions fo;
  fo.attention_mask = batch.attention_mask;
  fo.logits = model::LogitsMode::kNone;
  auto result = model.forward(batch.input_ids, fo);
  int64_t loss_tokens = 0;
  auto ce = masked_lm_loss(model, result.hidden, batch.targets, &loss_tokens);
  out.terms.push_back({"ce", ce, 1.0, loss_tokens});
  LocalSums local;
  local.tokens = static_cast<double>(batch.attention_mask.sum().item<int64_t>());
  local.rows = static_cast<double>(batch.size());
  finish(out, local, global, Stage::backbone);
  return out;
}

}  // namespace elm::train
