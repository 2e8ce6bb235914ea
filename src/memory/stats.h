#pragma once
// Retrieval statistics per memory layer, accumulated over batches: coverage (fraction of bank
// entries selected at least once), hot entries (most selected), dead entries (never selected),
// selection entropy and mean alpha (over real tokens).
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "memory/memory_layer.h"

namespace elm::memory {

struct LayerRetrievalStats {
  int64_t layer = -1;
  int64_t tokens = 0;                 // real tokens seen
  int64_t selections = 0;             // entry selections counted (tokens x k, minus "none valid")
  double coverage = 0;                // entries selected at least once / N
  int64_t dead_entries = 0;           // entries never selected
  double entropy = 0;                 // of the selection frequencies, in nats
  double normalized_entropy = 0;      // entropy / log(N) (1 = uniform over the whole bank)
  double mean_alpha = 0;
  std::vector<std::pair<int64_t, int64_t>> hot_entries;  // (entry, count), most selected first
};

class RetrievalStats {
 public:
  RetrievalStats(std::vector<int64_t> layers, int64_t num_entries);

  // selected_indices [..., k] int64 (-1 = none), alpha [...], token_valid [...] bool (undefined = all).
  void add(int64_t layer, const torch::Tensor& selected_indices, const torch::Tensor& alpha,
           const torch::Tensor& token_valid = {});
  void add(const std::vector<MemoryLayerOutput>& layers);

  std::vector<LayerRetrievalStats> summary(int64_t hot_k = 10) const;
  // One JSON object per layer, one per line.
  std::string to_jsonl(int64_t hot_k = 10) const;
  const torch::Tensor& counts(int64_t layer) const;  // [N] int64
  void reset();
  // Sums the statistics of several processes (data-parallel evaluation): every accumulator is
  // packed into one int64 counts tensor and one float64 tensor, and `sum_over_ranks` replaces each
  // by its sum over the ranks in place (a collective: every rank calls this with the same layers).
  void sum_over_ranks(const std::function<void(torch::Tensor&)>& sum_over_ranks);

 private:
  struct Acc {
    torch::Tensor counts;  // [N] int64
    int64_t tokens = 0;
    double alpha_sum = 0;
  };
  Acc& acc(int64_t layer);
  const Acc& acc(int64_t layer) const;
  int64_t num_entries_;
  std::map<int64_t, Acc> layers_;
};

}  // namespace elm::memory
