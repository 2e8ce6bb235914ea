#pragma once
// Data-parallel training (docs/distributed.md, "Data-parallel training"). Every rank of the DP
// group walks the same sequence of global micro-batches (the same DataLoader order and cursor, so
// a checkpoint's cursor means the same thing on any number of ranks); each rank collates and runs
// only its contiguous slice of each micro-batch's rows (shard_rows). The losses are means over the
// whole global micro-batch (step_losses.h), the gradients are averaged over the ranks after the
// accumulation, and every rank then takes the same optimizer step, so the parameters stay
// identical (check_parameters_agree verifies it at every checkpoint).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "dist/communicator.h"
#include "memory/bank_reader.h"
#include "train/optimizer.h"

namespace elm::train {

struct RowRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
  bool empty() const { return end <= begin; }
};

// The rows [begin, end) of a global micro-batch of n rows that DP rank `rank` of `ranks` takes:
// contiguous slices in rank order, the first n % ranks ranks one row more. When n < ranks the
// last ranks get none (they run a weight-0 stand-in, see GlobalBatch in step_losses.h).
RowRange shard_rows(int64_t n, int ranks, int rank);

// The seed of the memory layers' random draws (Gumbel noise, dropout) for row `row` of the
// global micro-batch `micro` of optimizer step `step`: it names the row by its place in the global
// batch, so the draws are the same on any number of ranks and after a resume.
uint64_t row_seed(uint64_t seed, int64_t step, int64_t micro, int64_t row);

// The dataset rows and row seeds (row_seed) of the global rows [range.begin, range.end) of a
// micro-batch. An empty range gives the stand-in: global row 0, flagged `placeholder` (it counts
// for nothing, but its rank still takes part in the collectives).
struct SliceRows {
  std::vector<int64_t> rows;
  std::vector<uint64_t> seeds;
  bool placeholder = false;
};
SliceRows slice_rows(const std::vector<int64_t>& global_rows, RowRange range, uint64_t seed, int64_t step,
                     int64_t micro);

// Replaces `values` by their sums over the group, in place (one all-reduce of float64); nothing
// for a null group or a group of one. Loss denominators and evaluation counts travel this way.
void sum_over_ranks(dist::Communicator* group, std::vector<double>& values);

// Replaces the gradients of `params` by their mean over the group (bucketed all-reduce). A
// parameter without a gradient (its loss did not reach it on this rank) gets zeros first, so
// every rank passes the same tensors in the same order; one without a gradient on any rank keeps
// none (AdamW then skips it, as in one process).
void all_reduce_gradients(dist::Communicator& group, const NamedTensors& params);

// Collective: throws elm::Error on every rank when some rank's parameters differ bitwise from
// rank 0's (rank 0's hash of every tensor's bytes is broadcast; each rank compares and logs the
// first differing tensor; the verdict is summed so all ranks throw together).
// `between` names the group's ranks in the message.
void check_parameters_agree(dist::Communicator& group, const NamedTensors& params, int64_t step,
                            const char* between = "data-parallel ranks");

// The whole bank through `reader`, in chunks of `chunk` entries: tokens [N, L] int32, valid [N]
// bool. Collective when the reader is (a sharded bank: every rank calls it, and every rank gets
// the whole bank): used for the final evaluation and the checkpoint's copy of the bank.
std::pair<torch::Tensor, torch::Tensor> gather_bank(const memory::BankReader& reader, int64_t chunk = 1 << 16);

}  // namespace elm::train
