#include "memory/memory_layer.h"

#include "core/error.h"
#include "memory/candidates.h"
#include "memory/losses.h"

namespace elm::memory {

namespace {
// weighted_prefix: the initial spread of the position scores (see the constructor).
constexpr double kPoolScoreInitStd = 1e-3;
}  // namespace

MemoryLayerImpl::MemoryLayerImpl(const MemoryConfig& config, int64_t layer, at::Generator init,
                                 torch::Tensor frozen_keys)
    : config_(config), layer_(layer) {
  config_.validate();
  const int64_t d = config.hidden_size;
  norm = register_module("norm", RMSNorm(d, config.rms_norm_eps));
  RouterOptions ro;
  ro.hidden_size = d;
  ro.knowledge_num = config.knowledge_num;
  ro.knowledge_dim = config.knowledge_dim;
  ro.num_candidates = config.num_candidates;
  ro.num_candidates_internal = config.num_candidates_internal;
  ro.rank = config.gate_rank;
  ro.dropout = config.dropout;
  ro.frozen_keys = std::move(frozen_keys);
  router = register_module("router", MemoryGate(ro, init));
  if (config.selection == SelectionMode::kLearned) matcher = register_module("matcher", ContentMatcher(d, init));
  if (config.pooling == QueryPooling::kWeightedPrefix) {
    // Nearly equal scores: every position weighs about sigmoid(0) = 1/2, so training starts from
    // causal_prefix. Not exactly equal: while every score is equal the bias (a shared shift) cannot
    // change the weights, its gradient is exactly zero, and Adam turns the rounding noise left in
    // it into full-size steps (+-lr) whose signs differ with the summation order (threads,
    // data-parallel ranks). The bias itself helps: held-out router recall 0.76 with it, 0.65
    // without (docs/memory.md).
    pool_score = register_module("pool_score", torch::nn::Linear(torch::nn::LinearOptions(d, 1)));
    torch::NoGradGuard no_grad;
    pool_score->weight.normal_(0.0, kPoolScoreInitStd, init);
    pool_score->bias.zero_();
  }
  if (config.normalize_selected) selected_norm = register_module("selected_norm", RMSNorm(d, config.rms_norm_eps));
  FusionOptions fo;
  fo.hidden_size = d;
  fo.rank = config.fusion_rank;
  fo.dropout = config.dropout;
  fusion = register_module("fusion", GatedMemoryFusion(fo, init));
}

torch::Tensor MemoryLayerImpl::normalize(const torch::Tensor& h) { return norm->forward(h); }

torch::Tensor MemoryLayerImpl::pool_scores(const torch::Tensor& h_mem) {
  if (!pool_score) return {};
  return pool_score->forward(h_mem.to(pool_score->weight.scalar_type())).squeeze(-1);
}

MemoryLayerOutput MemoryLayerImpl::forward(const torch::Tensor& h, const torch::Tensor& h_mem, const torch::Tensor& query,
                                           const torch::Tensor& token_valid, const BankReader& bank,
                                           const torch::Tensor& embedding_table, const MemoryStepOptions& options) {
  ELM_CHECK(h.dim() == 3 && h.size(-1) == config_.hidden_size, "memory layer ", layer_, ": hidden state must be [B, T, ",
            config_.hidden_size, "], got ", h.sizes());
  ELM_CHECK(bank.num_entries() == config_.knowledge_num, "memory layer ", layer_, ": the bank has ", bank.num_entries(),
            " entries but model.knowledge_num = ", config_.knowledge_num);
  MemoryLayerOutput out;
  out.layer = layer_;
  out.token_valid = token_valid.to(h.device(), torch::kBool);
  // Per-row noise (training only): scoped by the decoder layer so layers draw differently.
  c10::optional<RowRandom> random;
  if (!options.row_seeds.empty() && is_training()) {
    ELM_CHECK(static_cast<int64_t>(options.row_seeds.size()) == h.size(0), "memory layer ", layer_, ": ",
              options.row_seeds.size(), " row seeds for a batch of ", h.size(0), " rows");
    random = RowRandom(options.row_seeds, out.token_valid).scoped(static_cast<uint64_t>(layer_));
  }
  // sequence_mean routes one query per row ([B, 1, d], the same at every position): its dropout
  // takes one draw per row whatever T is, so the router's noise is independent of the padding.
  c10::optional<RowRandom> router_random;
  if (random) {
    router_random = config_.pooling == QueryPooling::kSequenceMean ? random->one_position_per_row() : *random;
  }
  const RowRandom* router_rr = router_random ? &*router_random : nullptr;
  RouterOutput routed;
  if (config_.pooling == QueryPooling::kSequenceMean && query.size(1) > 1) {
    // Every position has the same query: route one per sequence and broadcast.
    routed = router->forward(query.narrow(1, 0, 1), router_rr);
    const int64_t T = query.size(1);
    auto widen = [T](const torch::Tensor& t) {
      auto shape = t.sizes().vec();
      shape[1] = T;
      return t.expand(shape);
    };
    routed.indices = widen(routed.indices);
    routed.scores = widen(routed.scores);
    routed.logits = widen(routed.logits);
    routed.half_logits = {widen(routed.half_logits[0]), widen(routed.half_logits[1])};
  } else {
    // T == 0: nothing to route or draw (sequence_mean's one-position stream would not fit).
    routed = router->forward(query, query.size(1) > 0 ? router_rr : nullptr);
  }
  out.candidate_indices = routed.indices;
  out.candidate_scores = routed.scores;
  out.half_logits = routed.half_logits;

  CandidateEmbeddings cand = embed_candidates(bank, routed.indices, embedding_table);
  auto emb = cand.embeddings.to(h_mem.device(), h_mem.scalar_type());  // [B, T, C, d]
  out.candidate_valid = cand.valid.to(h_mem.device());

  torch::Tensor cosine, logits;
  if (config_.selection == SelectionMode::kLearned) {
    cosine = matcher->cosine(query.to(h_mem.scalar_type()), emb);
    logits = matcher->scale() * cosine;
    if (config_.selection_add_router_score) logits = logits + routed.logits.to(logits.scalar_type());
  } else {
    cosine = candidate_cosine(h_mem, emb);
    logits = cosine;
  }
  SelectionOptions so;
  so.num_selected = config_.num_selected;
  so.training = is_training();
  so.temperature = config_.gumbel_temperature;
  so.generator = options.generator;
  if (random && so.training) so.noise = random->gumbel(row_stream::kGumbel, logits.sizes(), logits.scalar_type(), logits.device());
  Selection sel = select_candidates(logits, out.candidate_valid, so);
  out.selection_weights = sel.weights;
  out.selected_indices = out.candidate_indices.gather(-1, sel.positions.clamp_min(0)).masked_fill(sel.positions.lt(0), -1);

  auto selected = combine_selected(sel.weights, emb);
  out.similarity = (sel.weights * cosine).sum(-1);
  if (selected_norm) selected = selected_norm->forward(selected);
  FusionOutput fused =
      fusion->forward(h, h_mem, selected, out.similarity, options.force_zero_alpha, sel.any_valid & out.token_valid,
                      random ? &*random : nullptr);
  out.hidden = fused.hidden;
  out.alpha = fused.alpha;
  out.similarity_loss = similarity_loss(out.similarity, out.token_valid);
  out.diversity_loss = diversity_loss(emb, out.candidate_valid, out.token_valid);
  return out;
}

}  // namespace elm::memory
