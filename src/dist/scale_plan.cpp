#include "dist/scale_plan.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/error.h"
#include "core/parse.h"
#include "memory/parameter_count.h"

namespace elm::dist {

std::optional<model::Qwen3Config> builtin_backbone_shape(const std::string& name) {
  model::Qwen3Config c;  // the defaults are Qwen3-0.6B's (qwen3_config.h)
  if (name == "qwen3-0.6b") return c;
  if (name == "qwen3-4b") {
    c.hidden_size = 2560;
    c.intermediate_size = 9728;
    c.num_hidden_layers = 36;
    c.num_attention_heads = 32;
    c.num_key_value_heads = 8;
    c.head_dim = 128;
    return c;
  }
  return std::nullopt;
}

int64_t decoder_layer_parameters(const model::Qwen3Config& c) {
  const int64_t d = c.hidden_size;
  const int64_t attention = d * c.q_dim() + 2 * d * c.kv_dim() + c.q_dim() * d + 2 * c.head_dim;  // + q_norm, k_norm
  const int64_t mlp = 3 * d * c.intermediate_size;
  return attention + mlp + 2 * d;  // input_layernorm, post_attention_layernorm
}

double decoder_layer_activation_bytes(const model::Qwen3Config& c, int64_t seq_len, int64_t rows, int64_t dtype_bytes) {
  // Megatron-LM (Korthikanti et al. 2022, no recomputation, 16-bit): s b h (34 + 5 a s / h) bytes.
  // An upper bound for a frozen layer: the backward needs no weight gradients, so autograd saves
  // fewer inputs, but the attention scores and nonlinearities dominate at long T anyway.
  const double T = static_cast<double>(seq_len), B = static_cast<double>(rows);
  const double per_16bit = (34.0 * static_cast<double>(c.hidden_size) + 5.0 * static_cast<double>(c.num_attention_heads) * T) * T * B;
  return per_16bit * static_cast<double>(dtype_bytes) / 2.0;
}

double memory_layer_activation_bytes(const memory::MemoryConfig& m, int64_t seq_len, int64_t rows) {
  const double d = static_cast<double>(m.hidden_size), T = static_cast<double>(seq_len), B = static_cast<double>(rows);
  const double C = static_cast<double>(m.num_candidates);
  // Per token (float32): the f32 copy of h, h_mem, the pooled query, C candidate embeddings, the
  // selected entry, and the fusion's concat (2d), gate, up, silu, product and down outputs.
  const double per_token = (12.0 + C) * d;
  // Per router query: query_proj, per residual block LN (2d) + fc1/GELU (2 x 2d) + fc2/dropout (2d) = 7d,
  // out_norm; out_proj; both halves' scores over the grid; the internal x internal candidate sums.
  const double blocks = m.gate_rank > 0 ? 1.0 : 2.0;
  const double grid = static_cast<double>(m.grid_size()), internal = static_cast<double>(m.num_candidates_internal);
  const double per_query = (2.0 + 7.0 * blocks) * d + static_cast<double>(m.knowledge_dim) + 2.0 * grid + internal * internal;
  // sequence_mean routes one query per row and broadcasts it.
  const double queries = m.pooling == memory::QueryPooling::kSequenceMean ? 1.0 : T;
  return 4.0 * B * (T * per_token + queries * per_query);
}

double head_activation_bytes(const model::Qwen3Config& c, int64_t seq_len, int64_t rows, int64_t dtype_bytes) {
  // Logits in the model dtype and the float32 log-softmax the cross-entropy keeps for its backward.
  return static_cast<double>(seq_len) * static_cast<double>(rows) * static_cast<double>(c.vocab_size) *
         static_cast<double>(dtype_bytes + 4);
}

bool ScalePlan::fits() const {
  return !stages.empty() && std::all_of(stages.begin(), stages.end(), [](const StagePlan& s) { return s.fits; });
}

const StagePlan& ScalePlan::fullest() const {
  ELM_CHECK(!stages.empty(), "scale plan: no stages");
  return *std::max_element(stages.begin(), stages.end(), [](const StagePlan& a, const StagePlan& b) {
    return a.memory.total() < b.memory.total();
  });
}

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

void check_inputs(const ScalePlanInputs& in) {
  ELM_CHECK(in.gpus >= 1, "--gpus must be >= 1, got ", in.gpus);
  ELM_CHECK(in.pp >= 0 && in.dp >= 0, "--pp and --dp must be >= 1 (or left out), got ", in.pp, " and ", in.dp);
  ELM_CHECK(in.dtype_bytes == 2 || in.dtype_bytes == 4, "model.dtype: ", in.dtype_bytes,
            " bytes per element; expected 2 (bfloat16) or 4 (float32)");
  ELM_CHECK(in.microbatches >= 1, "--microbatches (parallel.microbatches) must be >= 1, got ", in.microbatches);
  ELM_CHECK(in.micro_batch_size >= 0, "--micro-batch-size must be >= 1, got ", in.micro_batch_size);
  ELM_CHECK(in.batch_size >= 1, "training.batch_size must be >= 1, got ", in.batch_size);
  ELM_CHECK(in.grad_accum_steps >= 1, "training.grad_accum_steps must be >= 1, got ", in.grad_accum_steps);
  ELM_CHECK(in.seq_len >= 1, "--seq-len (data.max_length) must be >= 1, got ", in.seq_len);
  ELM_CHECK(in.logit_fraction >= 0 && in.logit_fraction <= 1, "--logit-fraction must be in [0, 1], got ",
            in.logit_fraction);
  ELM_CHECK(in.gpu_mem_gib > 0, "--gpu-mem must be > 0 GiB, got ", in.gpu_mem_gib);
  ELM_CHECK(in.memory.hidden_size == in.backbone.hidden_size, "scale plan: the memory config's hidden size ",
            in.memory.hidden_size, " != the backbone's ", in.backbone.hidden_size);
}

}  // namespace

ScalePlan plan_with_pp(const ScalePlanInputs& in, int64_t pp) {
  check_inputs(in);
  const model::Qwen3Config& bc = in.backbone;
  ELM_CHECK(pp >= 1, "--pp must be >= 1, got ", pp);
  ELM_CHECK(in.gpus % pp == 0, "--gpus ", in.gpus, " is not divisible by --pp ", pp,
            ": every pipeline stage needs the same number of data-parallel ranks");
  ELM_CHECK(pp <= bc.num_hidden_layers, "--pp ", pp, ": the backbone has only ", bc.num_hidden_layers,
            " decoder layers and every pipeline stage needs at least one");
  const int64_t dp = in.dp > 0 ? in.dp : in.gpus / pp;
  ELM_CHECK(pp * dp == in.gpus, "--pp ", pp, " x --dp ", dp, " = ", pp * dp, " ranks, but --gpus is ", in.gpus);

  ScalePlan plan;
  plan.gpus = in.gpus;
  plan.pp = pp;
  plan.dp = dp;
  plan.pp_chosen = in.pp == 0;
  plan.seq_len = in.seq_len;
  plan.grad_accum_steps = in.grad_accum_steps;
  plan.schedule = in.schedule;
  plan.recompute = in.recompute && pp > 1;  // the trainer recomputes only inside the pipeline
  plan.gpu_mem_bytes = in.gpu_mem_gib * kGiB;
  // The trainer gives each DP rank ceil(batch_size / dp) rows (at least one: a stand-in row) and,
  // with a pipeline, splits them into m chunks (again at least one row each).
  plan.microbatches = pp > 1 ? in.microbatches : 1;
  const int64_t rank_rows = std::max<int64_t>(1, ceil_div(in.batch_size, dp));
  plan.micro_batch_size = in.micro_batch_size > 0 ? in.micro_batch_size
                                                  : std::max<int64_t>(1, ceil_div(rank_rows, plan.microbatches));
  plan.rows_per_step = dp * plan.microbatches * plan.micro_batch_size * in.grad_accum_steps;
  if (pp == 1 && (in.microbatches > 1 || in.recompute)) {
    plan.notes.push_back("pp 1: no pipeline; each rank runs its rows as one micro-batch (parallel.microbatches and "
                         "parallel.recompute do not apply)");
  }
  if (in.micro_batch_size > 0) {
    plan.notes.push_back("--micro-batch-size " + std::to_string(in.micro_batch_size) + " stands for training.batch_size = " +
                         std::to_string(dp * plan.microbatches * in.micro_batch_size) + " (dp x micro-batches x rows)");
  } else if (dp > 1 && in.batch_size < dp) {
    // train/trainer.cpp refuses this: every DP rank needs a row of each global micro-batch.
    plan.notes.push_back("training.batch_size = " + std::to_string(in.batch_size) + " is smaller than dp " +
                         std::to_string(dp) + ": the trainer refuses that; planned with 1 row per rank, as with "
                         "training.batch_size = " + std::to_string(dp));
  }

  const memory::MemoryConfig& mc = in.memory;
  plan.memory_layer_parameters = memory::count_memory_layer_parameters(mc).total();
  const int64_t layer_params = decoder_layer_parameters(bc);
  const int64_t table = bc.vocab_size * bc.hidden_size;
  plan.backbone_parameters = bc.num_hidden_layers * layer_params + table + bc.hidden_size +
                             (bc.tie_word_embeddings ? 0 : table);
  plan.trainable_parameters = static_cast<int64_t>(mc.layers.size()) * plan.memory_layer_parameters;

  // The same partition the trainer computes (train/trainer.cpp).
  plan.partition = make_partition(estimate_stage_costs(bc, mc.layers, bc.hidden_size, in.seq_len, in.logit_fraction),
                                  static_cast<int>(pp), in.stage_layers);
  plan.bubble = theoretical_bubble(static_cast<int>(pp), static_cast<int>(plan.microbatches));

  const int64_t B = plan.micro_batch_size, T = in.seq_len, m = plan.microbatches;
  const double db = static_cast<double>(in.dtype_bytes);
  const double hidden_message = static_cast<double>(B * T * bc.hidden_size) * db;  // one micro-batch's [B, T, d]
  const double leave = static_cast<double>(dp - 1) / static_cast<double>(dp);   // the share owned by other ranks
  const double queries = static_cast<double>(B) * (mc.pooling == memory::QueryPooling::kSequenceMean ? 1.0 : static_cast<double>(T));
  const double passes = static_cast<double>(m * in.grad_accum_steps);
  // A bank shard: ceil(N / dp) rows of L int32 tokens and one validity byte (sharded_bank_reader.h).
  const double bank_shard = static_cast<double>(ceil_div(mc.knowledge_num, dp)) * static_cast<double>(mc.knowledge_length * 4 + 1);
  const std::set<int64_t> with_memory(mc.layers.begin(), mc.layers.end());

  for (int s = 0; s < plan.partition.size(); ++s) {
    StagePlan st;
    st.span = plan.partition.stages[static_cast<size_t>(s)];
    for (int64_t l = st.span.first_layer; l < st.span.end_layer; ++l) st.memory_layers += with_memory.count(l) ? 1 : 0;
    // The table serves the embedding lookup (first stage), candidate embeddings (any stage with
    // memory layers) and, tied, the lm_head (last stage): one copy per rank that needs any of them.
    st.embedding_table = st.span.embedding || st.memory_layers > 0 || (st.span.head && bc.tie_word_embeddings);
    st.untied_lm_head = st.span.head && !bc.tie_word_embeddings;
    st.backbone_parameters = st.span.layers() * layer_params + (st.embedding_table ? table : 0) +
                             (st.untied_lm_head ? table : 0) + (st.span.head ? bc.hidden_size : 0);
    st.trainable_parameters = st.memory_layers * plan.memory_layer_parameters;

    StageMemory& mem = st.memory;
    mem.backbone = static_cast<double>(st.backbone_parameters) * db;
    mem.parameters = static_cast<double>(st.trainable_parameters) * 4.0;
    mem.gradients = mem.parameters;
    mem.optimizer = 2.0 * mem.parameters;
    st.activations_per_microbatch =
        static_cast<double>(st.span.layers()) * decoder_layer_activation_bytes(bc, T, B, in.dtype_bytes) +
        static_cast<double>(st.memory_layers) * memory_layer_activation_bytes(mc, T, B) +
        (st.span.head ? head_activation_bytes(bc, T, B, in.dtype_bytes) : 0.0);
    // The schedule's own order (pipeline_schedule.h): 1F1B holds min(pp - s, m), GPipe m.
    st.in_flight = peak_in_flight(stage_actions(in.schedule, static_cast<int>(pp), s, static_cast<int>(m)));
    if (plan.recompute) {
      // Each held micro-batch keeps only its received input (stage 0 re-embeds its ids); the
      // backward rebuilds one micro-batch's activations at a time.
      const double input = st.span.embedding ? 0.0 : hidden_message;
      mem.activations = static_cast<double>(st.in_flight) * input + st.activations_per_microbatch;
    } else {
      mem.activations = static_cast<double>(st.in_flight) * st.activations_per_microbatch;
    }
    mem.bank = st.memory_layers > 0 ? bank_shard : 0.0;
    st.fits = mem.total() <= plan.gpu_mem_bytes;

    StageTraffic& tr = st.traffic;
    if (!st.span.head) tr.activations_forward = passes * hidden_message;
    if (!st.span.embedding) tr.gradients_backward = passes * hidden_message;
    tr.gradient_all_reduce = 2.0 * leave * mem.parameters;  // once per optimizer step
    // Per memory layer and query: C int64 indices out, C rows of L + 1 int32 back (tokens and the
    // validity column), for the share of entries other ranks own; before deduplication. A
    // recomputed forward fetches again.
    const double fetches = passes * queries * static_cast<double>(st.memory_layers) * static_cast<double>(mc.num_candidates) *
                           leave * (plan.recompute ? 2.0 : 1.0);
    tr.bank_requests = fetches * 8.0;
    tr.bank_replies = fetches * static_cast<double>((mc.knowledge_length + 1) * 4);
    plan.stages.push_back(st);
  }
  return plan;
}

std::vector<int64_t> candidate_pps(const ScalePlanInputs& in) {
  check_inputs(in);
  std::vector<int64_t> out;
  if (in.pp > 0) return {in.pp};
  if (in.dp > 0) {
    ELM_CHECK(in.gpus % in.dp == 0, "--gpus ", in.gpus, " is not divisible by --dp ", in.dp);
    return {in.gpus / in.dp};
  }
  if (!in.stage_layers.empty()) {
    // parallel.stage_layers fixes the number of stages.
    const auto n = static_cast<int64_t>(parse_id_list(in.stage_layers, "parallel.stage_layers").size());
    ELM_CHECK(n >= 1 && in.gpus % n == 0, "parallel.stage_layers = \"", in.stage_layers, "\" names ", n,
              " stages, which does not divide --gpus ", in.gpus);
    return {n};
  }
  for (int64_t pp = 1; pp <= std::min(in.gpus, in.backbone.num_hidden_layers); ++pp) {
    if (in.gpus % pp == 0) out.push_back(pp);
  }
  return out;
}

ScalePlan make_scale_plan(const ScalePlanInputs& in) {
  if (in.pp > 0) return plan_with_pp(in, in.pp);
  const std::vector<int64_t> pps = candidate_pps(in);
  ELM_CHECK(!pps.empty(), "--gpus ", in.gpus, ": no pipeline depth divides it");
  std::string tried;
  for (int64_t pp : pps) {
    ScalePlan plan = plan_with_pp(in, pp);
    if (plan.fits()) return plan;
    const StagePlan& worst = plan.fullest();
    char buf[96];
    std::snprintf(buf, sizeof buf, "%spp %lld: %.1f GiB", tried.empty() ? "" : ", ", static_cast<long long>(pp),
                  worst.memory.total() / kGiB);
    tried += buf;
  }
  fail("no pipeline depth fits --gpu-mem ", in.gpu_mem_gib, " GiB on --gpus ", in.gpus, " (largest stage per depth: ",
       tried, "); add GPUs, raise --gpu-mem, or lower --micro-batch-size / --seq-len (see docs/plan.md)");
}

}  // namespace elm::dist
