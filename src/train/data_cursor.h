#pragma once
// Where a DataLoader stands: the epoch, the position (examples already served) in that epoch's
// order, and the shuffle seed. A checkpoint saves it; a DataLoader built from it serves exactly the
// batches that were still to come. See docs/training-data.md.
#include <cstdint>
#include <string>
#include <vector>

namespace elm::train {

struct DataCursor {
  std::int64_t epoch = 0;     // 0-based epoch
  std::int64_t position = 0;  // examples of this epoch's order already served
  std::uint64_t seed = 0;     // shuffle seed (runtime.seed)

  bool operator==(const DataCursor& o) const {
    return epoch == o.epoch && position == o.position && seed == o.seed;
  }
  bool operator!=(const DataCursor& o) const { return !(*this == o); }

  // "epoch=E position=P seed=S" (for logs and error messages).
  std::string to_string() const;
  // {epoch, position, seed as int64 bits}: the form a checkpoint stores (one int64 dataset).
  std::vector<std::int64_t> to_vector() const;
  // Inverse of to_vector; throws elm::Error unless it has 3 elements, epoch >= 0, position >= 0.
  static DataCursor from_vector(const std::vector<std::int64_t>& v);
};

// The order in which an epoch visits the examples 0..n-1: the identity without shuffling, else an
// explicit Fisher-Yates shuffle driven by std::mt19937_64 seeded with a mix of (seed, epoch) and
// unbiased rejection sampling, so it is identical across standard libraries and platforms.
std::vector<std::int64_t> epoch_order(std::int64_t n, std::uint64_t seed, std::int64_t epoch, bool shuffle);

}  // namespace elm::train
