#include "train/pipeline_step.h"

#include <chrono>
#include <cstdlib>
#include <limits>
#include <string>

#include "core/clock.h"
#include "core/error.h"
#include "dist/pipeline_channel.h"
#include "memory/losses.h"
#include "train/data_parallel.h"

namespace elm::train {

GlobalCounts count_global(const Batch& global) {
  GlobalCounts c;
  c.loss_tokens = global.targets.ne(kIgnoreIndex).sum().item<int64_t>();
  c.tokens = global.attention_mask.sum().item<int64_t>();
  c.queries = global.target_indices.defined() ? memory::router_query_count(global.target_indices) : 0;
  return c;
}

namespace {

using Clock = std::chrono::steady_clock;

// Fault injection for the tests of the abort path (docs/distributed.md): ELM_FAULT_PIPELINE =
// "RANK:CALL" makes world rank RANK fail in its CALL-th pipeline step (0-based) at its first
// backward pass, i.e. mid-schedule, after activations have moved. Unset: never.
bool inject_fault_now(int world_rank) {
  static const char* spec = std::getenv("ELM_FAULT_PIPELINE");
  static int calls = 0;
  if (!spec) return false;
  const std::string text(spec);
  const auto colon = text.find(':');
  if (colon == std::string::npos) return false;
  const int rank = std::atoi(text.substr(0, colon).c_str());
  const int call = std::atoi(text.substr(colon + 1).c_str());
  return rank == world_rank && calls++ == call;
}

// The world-wide sums behind the reported values: a fixed layout, so every rank adds what its
// stage computed and zeros elsewhere. Per memory layer k (in memory_layers() order) four slots.
struct MetricLayout {
  enum Slot { kCe, kRows, kTokens, kAlpha, kNamed, kHit, kRecall, kFixed };
  int64_t layers = 0;
  size_t size() const { return kFixed + 4 * static_cast<size_t>(layers); }
  static size_t router(int64_t k) { return kFixed + 4 * static_cast<size_t>(k) + 0; }
  static size_t similarity(int64_t k) { return kFixed + 4 * static_cast<size_t>(k) + 1; }
  static size_t diversity_count(int64_t k) { return kFixed + 4 * static_cast<size_t>(k) + 2; }
  static size_t diversity(int64_t k) { return kFixed + 4 * static_cast<size_t>(k) + 3; }
};

// What one stage needs between a chunk's forward and its backward.
struct ChunkState {
  torch::Tensor input;      // the received activation (a leaf that collects its gradient); undefined on stage 0
  torch::Tensor output;     // the stage's output activation (not on the last stage)
  torch::Tensor objective;  // this chunk's weighted loss terms of this stage (scalar)
};

class StageRunner {
 public:
  StageRunner(memory::ExplicitLM& lm, std::vector<PipelineChunk>& chunks, const GlobalCounts& counts, Stage stage,
              const LossWeights& w, const PipelineGroups& groups, const PipelineSettings& settings, double loss_scale)
      : lm_(lm),
        chunks_(chunks),
        counts_(counts),
        stage_(stage),
        w_(w),
        settings_(settings),
        loss_scale_(loss_scale),
        dp_size_(groups.dp_size),
        channel_(*groups.pipeline),
        span_(settings.partition.stages.at(static_cast<size_t>(groups.pipeline->rank()))),
        states_(chunks.size()) {
    const auto& layers = lm.memory_layers();
    layout_.layers = static_cast<int64_t>(layers.size());
    sums_.assign(layout_.size(), 0.0);
    for (size_t k = 0; k < layers.size(); ++k) layer_slot_[layers[k]] = static_cast<int64_t>(k);
    ELM_CHECK(settings.partition.size() == channel_.stages(), "pipeline: the partition has ", settings.partition.size(),
              " stages but the pipeline group has ", channel_.stages(), " ranks");
  }

  void forward(int c) {
    ChunkState& st = states_[static_cast<size_t>(c)];
    const Batch& batch = chunks_[static_cast<size_t>(c)].batch;
    torch::Tensor input;
    if (!channel_.first()) {
      const auto& cfg = lm_.backbone().config();
      input = channel_.receive_activation({batch.input_ids.size(0), batch.input_ids.size(1), cfg.hidden_size},
                                          lm_.backbone().dtype(), c);
    }
    const auto t0 = Clock::now();
    torch::Tensor output, objective;
    {
      // With recomputation the first pass keeps no graph: backward() runs it again.
      c10::optional<torch::NoGradGuard> no_grad;
      if (settings_.recompute) no_grad.emplace();
      run(c, input, /*record=*/true, &output, &objective);
    }
    compute_ += seconds_since(t0);
    if (!channel_.last()) channel_.send_activation(output, c);
    st.input = input;
    if (!settings_.recompute) {
      st.output = channel_.last() ? torch::Tensor() : output;
      st.objective = objective;
    }
  }

  void backward(int c) {
    if (fault_) fail("injected fault (ELM_FAULT_PIPELINE) in the backward pass of micro-batch ", c, " on pipeline stage ",
                     channel_.stage());
    ChunkState& st = states_[static_cast<size_t>(c)];
    torch::Tensor grad_out;
    if (!channel_.last()) {
      const Batch& batch = chunks_[static_cast<size_t>(c)].batch;
      const auto& cfg = lm_.backbone().config();
      grad_out = channel_.receive_gradient({batch.input_ids.size(0), batch.input_ids.size(1), cfg.hidden_size},
                                           lm_.backbone().dtype(), c);
    }
    const auto t0 = Clock::now();
    if (settings_.recompute) run(c, st.input, /*record=*/false, &st.output, &st.objective);
    std::vector<torch::Tensor> roots, grads;
    if (!channel_.last() && st.output.requires_grad()) {
      roots.push_back(st.output);
      grads.push_back(grad_out.to(st.output.scalar_type()));
    }
    if (st.objective.defined() && st.objective.requires_grad()) {
      roots.push_back(st.objective);
      grads.push_back(torch::ones_like(st.objective));
    }
    if (!roots.empty()) torch::autograd::backward(roots, grads);
    torch::Tensor grad_in;
    if (!channel_.first()) {
      grad_in = st.input.grad().defined() ? st.input.grad() : torch::zeros_like(st.input);
    }
    compute_ += seconds_since(t0);
    if (!channel_.first()) channel_.send_gradient(grad_in, c);
    st = ChunkState();  // frees the graph and the activations of this chunk
  }

  // Waits until every activation and gradient this stage sent has left (the schedule's end).
  void finish_schedule() { channel_.finish(); }
  // The global values: one all-reduce of the metric sums over the world.
  StepLosses reduce(dist::Communicator* world) {
    sum_over_ranks(world, sums_);
    return values();
  }

  double compute_seconds() const { return compute_; }
  void arm_fault() { fault_ = true; }

 private:
  // The stage's forward pass of chunk c from `input` (stage 0: the embedding), with its weighted
  // loss terms; `record` adds the chunk's metric sums (once per chunk, not again when recomputing).
  void run(int c, torch::Tensor& input, bool record, torch::Tensor* output, torch::Tensor* objective) {
    PipelineChunk& chunk = chunks_[static_cast<size_t>(c)];
    const Batch& batch = chunk.batch;
    const model::Qwen3Model& backbone = lm_.backbone();
    model::AttentionContext ctx = backbone.make_context(batch.input_ids, batch.attention_mask, nullptr);
    torch::Tensor x;
    if (channel_.first()) {
      x = backbone.embed(batch.input_ids);
    } else {
      // A leaf that collects the gradient to send back.
      input = input.detach().requires_grad_(torch::GradMode::is_enabled());
      x = input;
    }
    memory::ExplicitForwardOptions fo;
    fo.row_seeds = chunk.row_seeds;
    fo.force_zero_alpha = stage_ == Stage::router;
    std::vector<memory::MemoryLayerOutput> layers;
    lm_.set_bank(chunk.bank);
    torch::Tensor h = lm_.forward_layers(x, ctx, span_.first_layer, span_.end_layer, fo, &layers);
    *output = h;

    const double share = chunk.placeholder ? 0.0 : loss_scale_ * static_cast<double>(dp_size_);
    const auto num_layers = static_cast<double>(std::max<int64_t>(1, layout_.layers));
    const double router_weight = (stage_ == Stage::router ? 1.0 : w_.router) / num_layers;
    torch::Tensor zero = h.sum().to(torch::kFloat32) * 0.0;  // keeps the graph
    torch::Tensor total = zero;
    auto add = [&](const torch::Tensor& mean, double weight, int64_t count, int64_t global) {
      if (global == 0 || count == 0 || weight == 0.0) return;
      total = total + mean * (weight * share * static_cast<double>(count) / static_cast<double>(global));
    };
    auto pos = query_positions(batch);
    for (const auto& layer : layers) {
      const int64_t k = layer_slot_.at(layer.layer);
      const LayerQueryTerms q = layer_query_terms(layer, batch, pos, w_.router_temperature, zero);
      add(q.router, router_weight, q.queries, counts_.queries);
      const int64_t tokens = memory::similarity_count(layer.similarity, layer.token_valid);
      if (stage_ == Stage::joint) add(layer.similarity_loss, w_.similarity / num_layers, tokens, counts_.tokens);
      ELM_CHECK(!layer.diversity_loss.requires_grad(),
                "pipeline: the diversity loss has a gradient; its denominator is only known after the forward pass, "
                "so pipeline_step cannot weigh it (see pipeline_step.h)");
      if (record && !chunk.placeholder) {
        sums_[MetricLayout::kAlpha] += q.alpha / num_layers;
        sums_[MetricLayout::kHit] += q.hit / num_layers;
        sums_[MetricLayout::kRecall] += q.recall / num_layers;
        sums_[MetricLayout::router(k)] += static_cast<double>(q.queries) * q.router.item<double>();
        sums_[MetricLayout::similarity(k)] += static_cast<double>(tokens) * layer.similarity_loss.item<double>();
        const int64_t pairs = memory::diversity_pair_count(layer.candidate_valid, layer.token_valid);
        sums_[MetricLayout::diversity_count(k)] += static_cast<double>(pairs);
        sums_[MetricLayout::diversity(k)] += static_cast<double>(pairs) * layer.diversity_loss.item<double>();
      }
    }
    if (channel_.last()) {
      if (stage_ != Stage::router) {
        int64_t n = 0;
        auto ce = masked_lm_loss(backbone, backbone.final_norm(h), batch.targets, &n);
        add(ce, w_.ce, n, counts_.loss_tokens);
        if (record && !chunk.placeholder) sums_[MetricLayout::kCe] += static_cast<double>(n) * ce.item<double>();
      }
      if (record && !chunk.placeholder) {
        sums_[MetricLayout::kRows] += static_cast<double>(batch.size());
        sums_[MetricLayout::kTokens] += static_cast<double>(batch.attention_mask.sum().item<int64_t>());
        sums_[MetricLayout::kNamed] += static_cast<double>(named_rows(batch));
      }
    }
    *objective = total;
  }

  // The global values from the reduced sums, as memory_step_losses reports them.
  StepLosses values() const {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    StepLosses out;
    const auto L = static_cast<double>(std::max<int64_t>(1, layout_.layers));
    const double router_weight = (stage_ == Stage::router ? 1.0 : w_.router) / L;
    double loss = 0, router = 0, similarity = 0, diversity = 0;
    for (int64_t k = 0; k < layout_.layers; ++k) {
      if (counts_.queries > 0) {
        const double r = sums_[MetricLayout::router(k)] / static_cast<double>(counts_.queries);
        router += r / L;
        loss += router_weight * r;
      }
      if (counts_.tokens > 0) similarity += sums_[MetricLayout::similarity(k)] / static_cast<double>(counts_.tokens) / L;
      const double pairs = sums_[MetricLayout::diversity_count(k)];
      if (pairs > 0) diversity += sums_[MetricLayout::diversity(k)] / pairs / L;
    }
    out.router = counts_.queries > 0 ? router : nan;
    if (stage_ != Stage::router) {
      out.ce = counts_.loss_tokens > 0 ? sums_[MetricLayout::kCe] / static_cast<double>(counts_.loss_tokens) : nan;
      if (counts_.loss_tokens > 0) loss += w_.ce * out.ce;
      if (stage_ == Stage::joint) {
        out.similarity = similarity;
        out.diversity = diversity;
        if (counts_.tokens > 0) loss += w_.similarity * similarity;
        for (int64_t k = 0; k < layout_.layers; ++k) {
          const double pairs = sums_[MetricLayout::diversity_count(k)];
          if (pairs > 0) loss += w_.diversity / L * sums_[MetricLayout::diversity(k)] / pairs;
        }
      }
    }
    out.loss = loss;
    out.loss_tokens = counts_.loss_tokens;
    out.tokens = counts_.tokens;
    const double rows = sums_[MetricLayout::kRows], named = sums_[MetricLayout::kNamed];
    out.rows = static_cast<int64_t>(rows);
    if (rows > 0) out.alpha = sums_[MetricLayout::kAlpha] / rows;
    if (named > 0) {
      out.selection_hit = sums_[MetricLayout::kHit] / named;
      out.router_recall = sums_[MetricLayout::kRecall] / named;
    }
    return out;
  }

  memory::ExplicitLM& lm_;
  std::vector<PipelineChunk>& chunks_;
  const GlobalCounts& counts_;
  Stage stage_;
  const LossWeights& w_;
  const PipelineSettings& settings_;
  double loss_scale_;
  int dp_size_;
  dist::PipelineChannel channel_;
  dist::StageSpan span_;
  std::vector<ChunkState> states_;
  MetricLayout layout_;
  std::map<int64_t, int64_t> layer_slot_;
  std::vector<double> sums_;
  double compute_ = 0;
  bool fault_ = false;
};

}  // namespace

StepLosses pipeline_step(memory::ExplicitLM& lm, std::vector<PipelineChunk>& chunks, const GlobalCounts& counts,
                         Stage stage, const LossWeights& weights, const PipelineGroups& groups,
                         const PipelineSettings& settings, double loss_scale, PipelineTimes* times) {
  ELM_CHECK(stage != Stage::backbone, "pipeline_step: the backbone stage has no memory (and no pipeline)");
  ELM_CHECK(groups.pipeline != nullptr && groups.world != nullptr, "pipeline_step: no pipeline group");
  ELM_CHECK(!chunks.empty(), "pipeline_step: no chunks");
  // The same check on every rank (the counts are global), before any communication.
  ELM_CHECK(stage != Stage::router || counts.queries > 0,
            "training.stage = router needs router targets: data.format = router, or qa records with \"index\"");
  const auto started = Clock::now();
  const auto base_bank = lm.bank_ptr();
  StageRunner runner(lm, chunks, counts, stage, weights, groups, settings, loss_scale);
  if (inject_fault_now(groups.world->rank())) runner.arm_fault();
  const int stages = groups.pipeline->size();
  const auto actions = dist::stage_actions(settings.schedule, stages, groups.pipeline->rank(), static_cast<int>(chunks.size()));
  for (const dist::PipelineAction& a : actions) {
    if (a.kind == dist::PipelineAction::forward) {
      runner.forward(a.microbatch);
    } else {
      runner.backward(a.microbatch);
    }
  }
  lm.set_bank(base_bank);
  runner.finish_schedule();
  if (times) {
    times->wall = seconds_since(started);
    times->compute = runner.compute_seconds();
  }
  return runner.reduce(groups.world);
}

}  // namespace elm::train
