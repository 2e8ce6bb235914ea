#pragma once
// The memory parameters under pipeline parallelism: each stage trains the memory layers of its
// decoder layers (every rank builds all memory layers identically, then trains its own), and the
// whole model comes together on every rank for the final evaluation. Checkpoints need no
// gathering: each stage writes its own parameters into the one file (checkpoint.h).
#include <vector>

#include "dist/communicator.h"
#include "dist/grid_layout.h"
#include "dist/pipeline_partition.h"
#include "memory/explicit_lm.h"
#include "train/optimizer.h"

namespace elm::train {

// The trainable parameters of the memory layers that `span` runs, in named_trainable_parameters order.
NamedTensors stage_parameters(const memory::ExplicitLM& lm, const dist::StageSpan& span);

// The entries of an optimizer state (Optimizer::export_state naming) that belong to `params`.
NamedTensors state_of(const NamedTensors& state, const NamedTensors& params);

// Collective over the world: every rank's copy of every memory parameter becomes its owning
// stage's (broadcast from the stage's first DP rank).
void share_stage_parameters(dist::Communicator& world, const dist::GridLayout& layout,
                            const dist::PipelinePartition& partition, memory::ExplicitLM& lm);

// The global L2 norm of the gradients of all stages (each stage holds `params`; the DP ranks of a
// stage hold the same gradients), clipping them in place like clip_grad_norm when it exceeds
// max_norm. Collective over `pipeline` (one rank per stage). Returns the norm before clipping.
double clip_grad_norm_across_stages(dist::Communicator& pipeline, const NamedTensors& params, double max_norm);

}  // namespace elm::train
