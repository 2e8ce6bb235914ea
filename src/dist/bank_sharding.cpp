#include "dist/bank_sharding.h"

#include <algorithm>

#include "core/error.h"

namespace elm::dist {

const char* sharding_name(BankSharding s) { return s == BankSharding::kBlock ? "block" : "cyclic"; }

BankSharding parse_sharding(const std::string& text, const std::string& key) {
  if (text == "block") return BankSharding::kBlock;
  if (text == "cyclic") return BankSharding::kCyclic;
  fail(key, ": unknown bank sharding '", text, "' (expected block or cyclic)");
}

ShardLayout::ShardLayout(int64_t num_entries, int group_size, BankSharding sharding)
    : n_(num_entries), g_(group_size), sharding_(sharding) {
  ELM_CHECK(num_entries >= 0, "bank sharding: N = ", num_entries, " must be >= 0");
  ELM_CHECK(group_size >= 1, "bank sharding: group size ", group_size, " must be >= 1");
  block_ = (n_ + g_ - 1) / g_;
}

int64_t ShardLayout::rows_of(int rank) const {
  ELM_CHECK(rank >= 0 && rank < g_, "bank sharding: rank ", rank, " is outside [0, ", g_, ")");
  if (sharding_ == BankSharding::kBlock) {
    const int64_t first = std::min(n_, rank * block_);
    return std::min(n_, first + block_) - first;
  }
  return n_ / g_ + (rank < n_ % g_ ? 1 : 0);
}

int64_t ShardLayout::max_rows() const { return rows_of(0); }  // rank 0 never holds fewer rows

int64_t ShardLayout::first_of(int rank) const {
  ELM_CHECK(sharding_ == BankSharding::kBlock, "bank sharding: first_of() is for block sharding");
  ELM_CHECK(rank >= 0 && rank < g_, "bank sharding: rank ", rank, " is outside [0, ", g_, ")");
  return std::min(n_, rank * block_);
}

torch::Tensor ShardLayout::owner(const torch::Tensor& indices) const {
  if (sharding_ == BankSharding::kBlock) {
    return block_ == 0 ? torch::zeros_like(indices) : torch::div(indices, block_, "floor");
  }
  return torch::remainder(indices, g_);
}

torch::Tensor ShardLayout::local_row(const torch::Tensor& indices) const {
  if (sharding_ == BankSharding::kBlock) return block_ == 0 ? indices : torch::remainder(indices, block_);
  return torch::div(indices, g_, "floor");
}

int64_t ShardLayout::global_index(int rank, int64_t local) const {
  return sharding_ == BankSharding::kBlock ? rank * block_ + local : local * g_ + rank;
}

}  // namespace elm::dist
