#include "infer/token_embeddings.h"

#include <algorithm>

#include "core/error.h"

namespace elm::infer {

float dot_product(const float* a, const float* b, int64_t n) {
  // Independent lanes the compiler may vectorise without reassociating anything.
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
  }
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

TokenEmbeddings::TokenEmbeddings(const torch::Tensor& table) {
  ELM_CHECK(table.defined() && table.dim() == 2, "embedding table must be [V, d]",
            table.defined() ? str_cat(", got ", table.sizes()) : std::string(", got an undefined tensor"));
  ELM_CHECK(table.is_floating_point(), "embedding table must hold floats, got ", table.scalar_type());
  ELM_CHECK(table.size(0) > 0 && table.size(1) > 0, "embedding table ", table.sizes(), " is empty");
  torch::NoGradGuard no_grad;
  table_ = table.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  data_ = table_.data_ptr<float>();
  vocab_ = table_.size(0);
  dim_ = table_.size(1);
}

int64_t TokenEmbeddings::mean_of(const int32_t* ids, int64_t n, int64_t pad_id, float* out) const {
  std::fill(out, out + dim_, 0.0f);
  int64_t count = 0;
  for (int64_t j = 0; j < n; ++j) {
    if (ids[j] == pad_id) continue;
    const float* r = row(ids[j]);
    for (int64_t k = 0; k < dim_; ++k) out[k] += r[k];
    ++count;
  }
  if (count > 0) {
    const float c = static_cast<float>(count);
    for (int64_t k = 0; k < dim_; ++k) out[k] /= c;
  }
  return count;
}

int64_t TokenEmbeddings::first_bad_id(const int32_t* ids, int64_t n, int64_t pad_id) const {
  for (int64_t j = 0; j < n; ++j) {
    if (ids[j] != pad_id && (ids[j] < 0 || ids[j] >= vocab_)) return ids[j];
  }
  return -1;
}

}  // namespace elm::infer
