#pragma once
// One training micro-batch through the pipeline stages (ARCHITECTURE 4, docs/distributed.md,
// "Pipeline-parallel training"). Each rank holds one stage (pipeline_partition.h) of one
// data-parallel replica; its share of the micro-batch is split into chunks that flow through the
// stages under a schedule (pipeline_schedule.h): activations forward, activation gradients
// backward (pipeline_channel.h), through the frozen layers to every memory layer.
//
// The gradient equals one process's: every loss term is a mean over the global micro-batch, and
// its denominators (loss tokens, real tokens, rows that name entries) are counted from the rows
// before any forward pass (GlobalCounts), so each chunk's backward can weigh its terms at once.
// (The diversity loss, whose denominator depends on which candidates are valid, has no gradient:
// the candidates are frozen embeddings. Its value is a metric, reduced after the schedule.)
#include <cstdint>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "dist/communicator.h"
#include "dist/mpi_communicator.h"
#include "dist/pipeline_partition.h"
#include "dist/pipeline_schedule.h"
#include "memory/bank_reader.h"
#include "memory/explicit_lm.h"
#include "train/data_batch.h"
#include "train/stage.h"
#include "train/step_losses.h"

namespace elm::train {

// Denominators of the global micro-batch's loss terms.
struct GlobalCounts {
  int64_t loss_tokens = 0;  // CE positions
  int64_t tokens = 0;       // real tokens (similarity)
  int64_t queries = 0;      // rows that name bank entries (router loss)
};
GlobalCounts count_global(const Batch& global);

// One chunk of this rank's rows. A chunk without rows (fewer rows than chunks) runs a stand-in
// row with `placeholder` set: it counts for nothing but keeps every stage and every DP rank of a
// stage on the same schedule (the bank reads are collective).
struct PipelineChunk {
  Batch batch;
  bool placeholder = false;
  std::vector<uint64_t> row_seeds;               // one per row (data_parallel.h row_seed)
  std::shared_ptr<const memory::BankReader> bank;  // what the memory layers read for these rows
};

struct PipelineGroups {
  dist::Communicator* world = nullptr;     // every rank: the metric sums
  dist::MpiCommunicator* pipeline = nullptr;  // this replica's stages, rank = stage
  int dp_size = 1;                         // ranks per stage (gradients are averaged over them)
};

struct PipelineSettings {
  dist::PipelinePartition partition;
  dist::ScheduleKind schedule = dist::ScheduleKind::one_f_one_b;
  bool recompute = false;
};

// Where the schedule's time went on this rank (benchmarks: the bubble).
struct PipelineTimes {
  double wall = 0;     // the whole schedule (until this stage's last send has left; not the metric sums)
  double compute = 0;  // forward and backward passes (including their bank reads)
};

// Runs forward and backward of every chunk on this rank's stage; gradients accumulate into the
// stage's memory parameters, scaled by loss_scale (1 / grad_accum_steps). Collective over the
// world (every rank calls it with the same number of chunks). Returns the global micro-batch's
// values (the same on every rank); `total` is undefined (backward has run).
StepLosses pipeline_step(memory::ExplicitLM& lm, std::vector<PipelineChunk>& chunks, const GlobalCounts& counts,
                         Stage stage, const LossWeights& weights, const PipelineGroups& groups,
                         const PipelineSettings& settings, double loss_scale, PipelineTimes* times = nullptr);

}  // namespace elm::train
