#pragma once
// The sharded bank (ARCHITECTURE 4): each rank of a DP group holds only the entries it owns
// (bank_sharding.h) and fetch() gets the others from their owners with two all-to-alls.
//
// fetch(indices) is COLLECTIVE over the group: every rank calls it the same number of times in
// the same order (DP ranks run the same model on batches of the same shape, so their memory
// layers line up); a rank with nothing to ask passes an empty tensor. Per call:
//   1. deduplicate this rank's indices and group them by owner (one radix sort of (owner, local
//      row) keys: unique indices + inverse);
//   2. exchange counts (MPI_Alltoall), then indices (MPI_Alltoallv) -- only with the other ranks:
//      entries this rank owns are read from its own shard and never go through MPI;
//   3. each owner gathers the requested rows from its shard: [m, L + 1] int32 (tokens, valid);
//   4. rows go back (MPI_Alltoallv; the counts are known from step 2 on both sides);
//   5. the requester writes every position's row (int32 widened to int64) via the inverse.
// The result equals LocalBankReader::fetch on the whole bank, bit for bit.
//
// Memory per rank: max_rows x L x 4 bytes of tokens + max_rows bytes of validity, ~ N*L*4/g. The
// constructor copies the shard (into memory that may use 2 MiB pages: fetch reads rows scattered
// over all of it), so the caller's tensors may be freed, and for a moment both copies exist.
#include <cstdint>

#include "dist/bank_sharding.h"
#include "dist/communicator.h"
#include "memory/bank_reader.h"

namespace elm::dist {

// What one fetch moved, for benchmarks and logs.
struct ShardedFetchStats {
  int64_t requested = 0;   // indices asked for (before deduplication)
  int64_t unique = 0;      // after deduplication
  int64_t remote = 0;      // unique indices owned by other ranks
  int64_t bytes_sent = 0;  // index bytes + row bytes this rank sent to other ranks
  int64_t bytes_received = 0;  // ... and received from them (own entries never travel)
};

class ShardedBankReader : public memory::BankReader {
 public:
  // `tokens` [rows_of(comm.rank()), L] (int32 or int64; stored as int32) and `valid`
  // [rows_of(rank)] hold this rank's shard in local-row order. The communicator must outlive the
  // reader. Collective: checks that every rank agrees on N, L, pad id and the sharding.
  ShardedBankReader(Communicator& comm, ShardLayout layout, torch::Tensor tokens, torch::Tensor valid,
                    int64_t entry_length, int64_t pad_id);

  int64_t num_entries() const override { return layout_.num_entries(); }
  int64_t entry_length() const override { return entry_length_; }
  int64_t pad_id() const override { return pad_id_; }
  // Collective (see above). Indices outside [0, N) are an elm::Error raised before any
  // communication -- after which the other ranks wait in the exchange: the caller aborts the job.
  memory::BankRows fetch(const torch::Tensor& indices) const override;

  const ShardLayout& layout() const { return layout_; }
  const ShardedFetchStats& last_stats() const { return stats_; }
  // Bytes this rank holds for its shard.
  int64_t shard_bytes() const;
  // This rank's shard in local-row order (a checkpoint writes these rows).
  const torch::Tensor& local_tokens() const { return tokens_; }
  const torch::Tensor& local_valid() const { return valid_; }

 private:
  Communicator& comm_;
  ShardLayout layout_;
  torch::Tensor tokens_;  // [rows, L] int32
  torch::Tensor valid_;   // [rows] bool
  int64_t entry_length_;
  int64_t pad_id_;
  mutable ShardedFetchStats stats_;
};

// This rank's shard of a full bank held in memory (tests, and ranks that built the bank).
std::pair<torch::Tensor, torch::Tensor> slice_shard(const ShardLayout& layout, int rank, const torch::Tensor& tokens,
                                                    const torch::Tensor& valid);

}  // namespace elm::dist
