#include "train/data_batch.h"

#include <algorithm>

#include "core/error.h"

namespace elm::train {

Batch collate(const Dataset& data, const std::vector<std::int64_t>& indices, std::int32_t pad_id) {
  ELM_CHECK(!indices.empty(), "collate: empty batch");
  const auto B = static_cast<std::int64_t>(indices.size());
  std::int64_t T = 0;
  std::int64_t K = 0;
  for (auto i : indices) {
    const Example& ex = data.at(i);
    T = std::max<std::int64_t>(T, static_cast<std::int64_t>(ex.input_ids.size()));
    K = std::max<std::int64_t>(K, static_cast<std::int64_t>(ex.target_indices.size()));
  }
  auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  Batch b;
  b.example_indices = indices;
  b.input_ids = torch::full({B, T}, static_cast<std::int64_t>(pad_id), i64);
  b.attention_mask = torch::zeros({B, T}, i64);
  b.targets = torch::full({B, T}, kIgnoreIndex, i64);
  auto ids = b.input_ids.accessor<std::int64_t, 2>();
  auto att = b.attention_mask.accessor<std::int64_t, 2>();
  auto tgt = b.targets.accessor<std::int64_t, 2>();
  for (std::int64_t r = 0; r < B; ++r) {
    const Example& ex = data.at(indices[static_cast<std::size_t>(r)]);
    const auto n = static_cast<std::int64_t>(ex.input_ids.size());
    for (std::int64_t t = 0; t < n; ++t) {
      ids[r][t] = ex.input_ids[static_cast<std::size_t>(t)];
      att[r][t] = 1;
      if (t + 1 < n && ex.loss_mask[static_cast<std::size_t>(t + 1)]) {
        tgt[r][t] = ex.input_ids[static_cast<std::size_t>(t + 1)];
      }
    }
  }
  b.loss_mask = b.targets.ne(kIgnoreIndex).to(torch::kFloat32);
  if (K > 0) {
    b.target_indices = torch::full({B, K}, std::int64_t{-1}, i64);
    b.target_scores = torch::zeros({B, K}, torch::kFloat32);
    auto ti = b.target_indices.accessor<std::int64_t, 2>();
    auto ts = b.target_scores.accessor<float, 2>();
    for (std::int64_t r = 0; r < B; ++r) {
      const Example& ex = data.at(indices[static_cast<std::size_t>(r)]);
      for (std::size_t k = 0; k < ex.target_indices.size(); ++k) {
        ti[r][static_cast<std::int64_t>(k)] = ex.target_indices[k];
        ts[r][static_cast<std::int64_t>(k)] = ex.target_scores[k];
      }
    }
  }
  return b;
}

}  // namespace elm::train
