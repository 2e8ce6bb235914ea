#pragma once
// The arithmetic of `explicitlm plan` (docs/plan.md): for a backbone shape, a memory config and a
// number of GPUs, the pipeline partition, what one rank of each stage holds (frozen weights,
// trainable memory parameters with gradients and AdamW state, activations, its bank shard), what
// it sends per optimizer step, and the pipeline bubble. No MPI, no weights, no tensors: a 4B plan
// is computed on a laptop. Every number is an estimate of the steady state; docs/plan.md gives
// the formulas and what they leave out.
//
//   dist::ScalePlanInputs in;
//   in.backbone = *dist::builtin_backbone_shape("qwen3-4b");
//   in.memory = memory_config;  // memory::MemoryConfig::from_config(...)
//   in.gpus = 8;
//   dist::ScalePlan plan = dist::make_scale_plan(in);  // smallest pp that fits
//   plan.fits();
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dist/pipeline_partition.h"
#include "dist/pipeline_schedule.h"
#include "memory/memory_config.h"
#include "model/qwen3_config.h"

namespace elm::dist {

inline constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// Shapes of the published Qwen3 checkpoints (SPECS.md), for plans on machines without the
// weights: "qwen3-4b" and "qwen3-0.6b"; nullopt for any other name.
std::optional<model::Qwen3Config> builtin_backbone_shape(const std::string& name);

struct ScalePlanInputs {
  model::Qwen3Config backbone;
  memory::MemoryConfig memory;       // .layers: the decoder layers followed by a memory layer
  int64_t dtype_bytes = 2;           // model.dtype: frozen weights, hidden states, pipeline messages
  int64_t gpus = 1;                  // --gpus
  int64_t pp = 0;                    // 0: the smallest divisor of gpus for which every stage fits
  int64_t dp = 0;                    // 0: gpus / pp
  int64_t microbatches = 4;          // parallel.microbatches; with pp = 1 the trainer runs one
  int64_t micro_batch_size = 0;      // rows per pipeline micro-batch; 0: split batch_size like the trainer
  int64_t batch_size = 8;            // training.batch_size: rows of one training micro-batch, all DP ranks
  int64_t grad_accum_steps = 1;      // training.grad_accum_steps
  int64_t seq_len = 512;             // data.max_length
  ScheduleKind schedule = ScheduleKind::one_f_one_b;
  bool recompute = false;            // parallel.recompute
  std::string stage_layers;          // parallel.stage_layers; "" = balanced by estimated cost
  double logit_fraction = 1.0;       // positions with a loss (the trainer measures it on its data)
  double gpu_mem_gib = 80.0;         // --gpu-mem
};

// Bytes one rank of a stage holds at its peak.
struct StageMemory {
  double backbone = 0;     // frozen weights of its decoder layers (+ embedding table, final norm, lm_head)
  double parameters = 0;   // trainable memory parameters, fp32
  double gradients = 0;    // their gradients, fp32
  double optimizer = 0;    // AdamW exp_avg and exp_avg_sq, 2 x fp32
  double activations = 0;  // micro-batches in flight (see ScalePlan notes for recomputation)
  double bank = 0;         // this rank's shard of the bank (stages with memory layers)
  double total() const { return backbone + parameters + gradients + optimizer + activations + bank; }
};

// Bytes one rank of a stage sends per optimizer step.
struct StageTraffic {
  double activations_forward = 0;  // hidden states to the next stage
  double gradients_backward = 0;   // activation gradients to the previous stage
  double gradient_all_reduce = 0;  // ring all-reduce over the stage's DP group
  double bank_requests = 0;        // candidate indices sent to the other ranks that own them
  double bank_replies = 0;         // bank rows sent back to the other ranks (as many as it gets)
  double total() const {
    return activations_forward + gradients_backward + gradient_all_reduce + bank_requests + bank_replies;
  }
};

struct StagePlan {
  StageSpan span;                      // decoder layers, embedding / head, relative cost
  int64_t memory_layers = 0;           // memory layers in the span
  bool embedding_table = false;        // holds model.embed_tokens (lookup, candidates, tied lm_head)
  bool untied_lm_head = false;         // holds a separate lm_head (tie_word_embeddings = false)
  int64_t backbone_parameters = 0;     // frozen
  int64_t trainable_parameters = 0;
  double activations_per_microbatch = 0;  // bytes of one micro-batch's saved activations
  int in_flight = 0;                   // micro-batches whose activations the schedule holds at once
  StageMemory memory;
  StageTraffic traffic;
  bool fits = false;                   // memory.total() <= the GPU memory
};

struct ScalePlan {
  int64_t gpus = 0, pp = 0, dp = 0;
  bool pp_chosen = false;              // pp picked as the smallest that fits (not given)
  int64_t microbatches = 1;            // m as run (1 when pp = 1)
  int64_t micro_batch_size = 1;        // rows per pipeline micro-batch
  int64_t seq_len = 0;
  int64_t grad_accum_steps = 1;
  int64_t rows_per_step = 0;           // dp * m * B * grad_accum_steps
  ScheduleKind schedule = ScheduleKind::one_f_one_b;
  bool recompute = false;
  double gpu_mem_bytes = 0;
  int64_t memory_layer_parameters = 0;  // one memory layer (memory/parameter_count.h)
  int64_t backbone_parameters = 0;      // the whole frozen backbone
  int64_t trainable_parameters = 0;     // all memory layers
  PipelinePartition partition;
  std::vector<StagePlan> stages;
  double bubble = 0;                    // (pp - 1) / (m + pp - 1)
  std::vector<std::string> notes;       // where the trainer would run differently or refuse

  bool fits() const;
  const StagePlan& fullest() const;     // the stage with the largest memory total
};

// Parameters of one decoder layer (q/k/v/o, q_norm, k_norm, two RMSNorms, SwiGLU MLP).
int64_t decoder_layer_parameters(const model::Qwen3Config& backbone);

// Activation bytes one pipeline micro-batch of `rows` x `seq_len` tokens keeps for the backward:
// a frozen decoder layer by Megatron-LM's estimate, (34 d + 5 heads T) T B bytes at 16 bits
// (scaled by dtype_bytes / 2); a memory layer (float32) 4 B (T (12 + C) d + Q ((2 + 7 blocks) d +
// knowledge_dim + 2 sqrt(N) + internal^2)) with Q = T queries per row (1 for sequence_mean);
// the head B T V (dtype_bytes + 4) (logits and their float32 log-softmax).
double decoder_layer_activation_bytes(const model::Qwen3Config& backbone, int64_t seq_len, int64_t rows,
                                      int64_t dtype_bytes);
double memory_layer_activation_bytes(const memory::MemoryConfig& memory, int64_t seq_len, int64_t rows);
double head_activation_bytes(const model::Qwen3Config& backbone, int64_t seq_len, int64_t rows, int64_t dtype_bytes);

// The plan with exactly `pp` stages (dp = in.dp, or gpus / pp). elm::Error naming the option when
// gpus is not a multiple of pp, pp * dp != gpus, or pp exceeds the decoder layers.
ScalePlan plan_with_pp(const ScalePlanInputs& in, int64_t pp);

// in.pp > 0: plan_with_pp(in, in.pp), fitting or not. in.pp == 0: the plan with the smallest pp
// dividing gpus (and, with in.dp, equal to gpus / dp) whose stages all fit; elm::Error saying how
// far the deepest candidate is from fitting when none does.
ScalePlan make_scale_plan(const ScalePlanInputs& in);

// The pp values make_scale_plan(in) would try, ascending (divisors of gpus up to the layer count,
// restricted by in.dp and in.stage_layers).
std::vector<int64_t> candidate_pps(const ScalePlanInputs& in);

}  // namespace elm::dist
