#pragma once
// The route policy's candidates from a real model: the entries the router proposes for a fact's
// own ids, so the fact is written where a router query about it looks (docs/bank-updates.md).
#include <cstdint>

#include "infer/bank_updater.h"
#include "memory/explicit_lm.h"

namespace elm::infer {

// Runs the fact's ids as one sequence through the ExplicitLM up to and including memory layer
// `layer` (-1: the first memory layer; otherwise a decoder layer that has one, else an error), in
// eval mode (the model's mode is restored afterwards), without gradients or a KV cache, and returns
// that layer's candidate_indices at the fact's last position, best first (model.num_candidates of
// them). `lm` must outlive the function. With causal_prefix pooling the last position's query is
// the mean over the whole fact.
RouteFunction make_router_route(memory::ExplicitLM& lm, int64_t layer = -1);

}  // namespace elm::infer
