#include "memory/row_random.h"

#include <utility>

#include "core/error.h"
#include "memory/projection.h"
#include "memory/selection.h"

namespace elm::memory {

// Hashing the seed first keeps nearby seeds (example indices 0, 1, 2, ...) from colliding with
// nearby stream ids under the xor; splitmix64 being a bijection, distinct streams stay distinct.
uint64_t mix_seed(uint64_t seed, uint64_t stream) { return splitmix64(splitmix64(seed) ^ stream); }

RowRandom::RowRandom(std::vector<uint64_t> row_seeds, const torch::Tensor& token_valid) : seeds_(std::move(row_seeds)) {
  ELM_CHECK(token_valid.defined() && token_valid.dim() == 2, "RowRandom: token validity must be [B, T], got ",
            token_valid.defined() ? token_valid.sizes() : torch::IntArrayRef{});
  ELM_CHECK(token_valid.size(0) == batch_size(), "RowRandom: ", seeds_.size(), " row seeds for a batch of ",
            token_valid.size(0), " rows");
  valid_ = token_valid.to(torch::kCPU, torch::kBool).contiguous();
  auto counts = valid_.sum(1).to(torch::kInt64);
  counts_.assign(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + counts.numel());
}

RowRandom::RowRandom(std::vector<uint64_t> seeds, torch::Tensor valid, std::vector<int64_t> counts)
    : seeds_(std::move(seeds)), valid_(std::move(valid)), counts_(std::move(counts)) {}

RowRandom RowRandom::scoped(uint64_t scope) const {
  std::vector<uint64_t> seeds;
  seeds.reserve(seeds_.size());
  for (uint64_t s : seeds_) seeds.push_back(mix_seed(s, scope));
  return RowRandom(std::move(seeds), valid_, counts_);
}

RowRandom RowRandom::one_position_per_row() const {
  return RowRandom(seeds_, torch::ones({batch_size(), 1}, torch::kBool), std::vector<int64_t>(seeds_.size(), 1));
}

uint64_t RowRandom::stream_seed(int64_t row, uint64_t stream) const {
  ELM_CHECK(row >= 0 && row < batch_size(), "RowRandom: row ", row, " outside a batch of ", batch_size());
  return mix_seed(seeds_[static_cast<size_t>(row)], stream);
}

torch::Tensor RowRandom::uniform(uint64_t stream, at::IntArrayRef shape, torch::ScalarType dtype,
                                 torch::Device device) const {
  ELM_CHECK(shape.size() >= 2 && shape[0] == batch_size() && shape[1] == length(), "RowRandom: noise shape ", shape,
            " must start with [B, T] = [", batch_size(), ", ", length(), "]");
  const auto options = torch::TensorOptions().dtype(dtype);
  std::vector<int64_t> row_shape(shape.begin() + 1, shape.end());
  std::vector<torch::Tensor> draws;
  for (int64_t b = 0; b < batch_size(); ++b) {
    const int64_t n = counts_[static_cast<size_t>(b)];
    if (n == 0) continue;
    // The draw's shape depends on this row alone: [n_valid_b, ...].
    row_shape[0] = n;
    auto gen = make_generator(stream_seed(b, stream));
    draws.push_back(torch::rand(row_shape, gen, options));
  }
  auto out = torch::zeros(shape, options);
  // A boolean mask enumerates positions row by row, in order: row b's draws land on its valid tokens.
  if (!draws.empty()) out.index_put_({valid_}, torch::cat(draws, 0));
  return out.to(device);
}

torch::Tensor RowRandom::gumbel(uint64_t stream, at::IntArrayRef shape, torch::ScalarType dtype,
                                torch::Device device) const {
  return gumbel_from_uniform(uniform(stream, shape, dtype, torch::kCPU)).to(device);
}

torch::Tensor RowRandom::dropout(const torch::Tensor& x, double p, bool training, uint64_t stream) const {
  ELM_CHECK(p >= 0.0 && p <= 1.0, "RowRandom: dropout probability ", p, " must be in [0, 1]");
  if (!training || p == 0.0) return x;
  if (p == 1.0) return x * 0.0;  // as torch::dropout: everything dropped (no division by zero)
  auto keep = uniform(stream, x.sizes(), x.scalar_type(), x.device()).ge(p).to(x.scalar_type());
  return x * keep / (1.0 - p);
}

}  // namespace elm::memory
