#include "memory/candidates.h"

#include <algorithm>

#include "core/error.h"

namespace elm::memory {

namespace {
// Rows embedded per chunk: bounds the [rows, L, d] temporary.
constexpr int64_t kChunkRows = 1024;
}  // namespace

CandidateEmbeddings mean_token_embeddings(const torch::Tensor& tokens_in, const torch::Tensor& valid_in,
                                          int64_t pad_id, const torch::Tensor& table) {
  ELM_CHECK(tokens_in.dim() >= 1, "candidate tokens must be [..., L]");
  ELM_CHECK(table.dim() == 2, "embedding table must be [V, d]");
  torch::NoGradGuard no_grad;
  const int64_t L = tokens_in.size(-1), V = table.size(0), d = table.size(1);
  auto shape = tokens_in.sizes().vec();
  shape.pop_back();
  ELM_CHECK(valid_in.sizes().vec() == shape, "candidate validity shape ", valid_in.sizes(),
            " does not match tokens ", tokens_in.sizes());
  auto tokens = tokens_in.reshape({-1, L}).to(table.device(), torch::kInt64);
  auto valid = valid_in.reshape({-1}).to(table.device(), torch::kBool);
  auto not_pad = tokens.ne(pad_id);
  // Only tokens that are read must be in range (padding may be any id).
  auto used = not_pad & valid.unsqueeze(1);
  if (used.any().item<bool>()) {
    auto ids = tokens.masked_select(used);
    const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
    ELM_CHECK(lo >= 0 && hi < V, "bank token id ", (lo < 0 ? lo : hi), " is outside the vocabulary [0, ", V,
              ") of the backbone's embedding");
  }
  auto weights = used.to(torch::kFloat32);  // [M, L]
  auto count = weights.sum(1);              // [M]
  auto safe_tokens = tokens.masked_fill(used.logical_not(), 0);
  const int64_t M = tokens.size(0);
  auto out = torch::zeros({M, d}, table.options().dtype(torch::kFloat32));
  for (int64_t start = 0; start < M; start += kChunkRows) {
    const int64_t rows = std::min(kChunkRows, M - start);
    auto emb = torch::embedding(table, safe_tokens.narrow(0, start, rows)).to(torch::kFloat32);  // [r, L, d]
    auto w = weights.narrow(0, start, rows).unsqueeze(-1);
    out.narrow(0, start, rows).copy_((emb * w).sum(1) / count.narrow(0, start, rows).clamp_min(1).unsqueeze(-1));
  }
  auto usable = count.gt(0);
  auto out_shape = shape;
  out_shape.push_back(d);
  return {out.view(out_shape), usable.view(shape)};
}

CandidateEmbeddings embed_candidates(const BankReader& bank, const torch::Tensor& indices,
                                     const torch::Tensor& table) {
  torch::NoGradGuard no_grad;
  if (bank.varies_by_batch_row()) {
    // Rows may see different contents for the same entry: fetch per position, no deduplication.
    BankRows rows = bank.fetch(indices.to(torch::kCPU, torch::kInt64));
    const int64_t L = rows.tokens.size(-1);
    auto emb = mean_token_embeddings(rows.tokens.reshape({-1, L}), rows.valid.reshape({-1}), bank.pad_id(), table);
    auto emb_shape = indices.sizes().vec();
    emb_shape.push_back(table.size(1));
    return {emb.embeddings.view(emb_shape), emb.valid.view(indices.sizes())};
  }
  auto flat = indices.reshape({-1}).to(torch::kCPU, torch::kInt64);
  auto unique = at::_unique(flat, /*sorted=*/true, /*return_inverse=*/true);
  const auto& entries = std::get<0>(unique);
  const auto& inverse = std::get<1>(unique);
  BankRows rows = bank.fetch(entries);
  auto emb = mean_token_embeddings(rows.tokens, rows.valid, bank.pad_id(), table);
  auto inv = inverse.to(table.device());
  auto shape = indices.sizes().vec();
  auto emb_shape = shape;
  emb_shape.push_back(table.size(1));
  return {emb.embeddings.index_select(0, inv).view(emb_shape), emb.valid.index_select(0, inv).view(shape)};
}

}  // namespace elm::memory
