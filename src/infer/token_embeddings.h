#pragma once
// The frozen backbone's token embedding [V, d] as plain float32 rows, for the bank updater's hot
// paths (a torch op costs ~10 us; one update should take tens of microseconds). The candidate
// embedding of an entry is the mean of its non-padding tokens' rows (as memory/candidates.h
// computes it with torch); here it is computed in a fixed summation order so every replica of a
// bank gets bit-identical values whatever its thread count.
#include <cstdint>

#include <torch/torch.h>

namespace elm::infer {

// a . b over n floats, in a fixed order (8 interleaved partial sums, combined pairwise).
float dot_product(const float* a, const float* b, int64_t n);

class TokenEmbeddings {
 public:
  TokenEmbeddings() = default;
  // `table` [V, d], any float dtype and device; kept as is when it already is a contiguous float32
  // CPU tensor, else copied to one (V * d * 4 bytes).
  explicit TokenEmbeddings(const torch::Tensor& table);

  bool defined() const { return data_ != nullptr; }
  int64_t vocab_size() const { return vocab_; }
  int64_t dim() const { return dim_; }
  const float* row(int64_t id) const { return data_ + id * dim_; }

  // out[0, d) = mean of the rows of ids[0, n) that differ from pad_id; returns how many there were
  // (0: out is all zeros). Ids must lie in [0, V) (callers check them: see first_bad_id).
  int64_t mean_of(const int32_t* ids, int64_t n, int64_t pad_id, float* out) const;

  // The first id of ids[0, n) other than pad_id outside [0, V), or -1 when there is none.
  int64_t first_bad_id(const int32_t* ids, int64_t n, int64_t pad_id) const;

 private:
  torch::Tensor table_;
  const float* data_ = nullptr;
  int64_t vocab_ = 0, dim_ = 0;
};

}  // namespace elm::infer
