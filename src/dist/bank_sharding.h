#pragma once
// Which rank of a DP group owns which bank entry (ARCHITECTURE 4, "Sharded bank").
//
//   block:  rank r owns entries [r * ceil(N/g), min(N, (r + 1) * ceil(N/g))), a contiguous range:
//           local row = index - first. Loading reads one contiguous slab of the bank file.
//   cyclic: rank r owns the entries with index % g == r: local row = index / g. With the
//           product-key grid (entry = row_key * sqrt(N) + col_key) and g dividing sqrt(N), an
//           entry's owner is col_key % g, so a router that favours a few row keys still spreads
//           its requests over every owner.
//
// Pure arithmetic, no communication: every rank computes the same owner for an index.
#include <cstdint>
#include <string>

#include <torch/torch.h>

namespace elm::dist {

enum class BankSharding { kBlock, kCyclic };
const char* sharding_name(BankSharding s);
// "block" / "cyclic"; anything else is an elm::Error naming `key`.
BankSharding parse_sharding(const std::string& text, const std::string& key = "parallel.bank_sharding");

class ShardLayout {
 public:
  // num_entries N >= 0, group size g >= 1.
  ShardLayout(int64_t num_entries, int group_size, BankSharding sharding);

  int64_t num_entries() const { return n_; }
  int group_size() const { return g_; }
  BankSharding sharding() const { return sharding_; }
  // Entries rank r owns.
  int64_t rows_of(int rank) const;
  // The largest rows_of over the group (memory per rank).
  int64_t max_rows() const;
  // block: the first entry of rank r's range.
  int64_t first_of(int rank) const;

  // Elementwise over int64 index tensors (any shape; indices must be in [0, N)).
  torch::Tensor owner(const torch::Tensor& indices) const;
  torch::Tensor local_row(const torch::Tensor& indices) const;
  // The global index of rank r's local row i: inverse of (owner, local_row).
  int64_t global_index(int rank, int64_t local) const;

 private:
  int64_t n_;
  int g_;
  BankSharding sharding_;
  int64_t block_;  // ceil(N / g)
};

}  // namespace elm::dist
