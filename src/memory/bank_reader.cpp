#include "memory/bank_reader.h"

#include "core/error.h"

namespace elm::memory {

LocalBankReader::LocalBankReader(torch::Tensor tokens, torch::Tensor valid, int64_t pad_id) : pad_id_(pad_id) {
  reset(std::move(tokens), std::move(valid));
}

void LocalBankReader::reset(torch::Tensor tokens, torch::Tensor valid) {
  ELM_CHECK(tokens.dim() == 2, "bank tokens must be [N, L], got ", tokens.dim(), " dimension(s)");
  ELM_CHECK(valid.dim() == 1 && valid.size(0) == tokens.size(0), "bank validity must be [N] with N = ",
            tokens.size(0));
  tokens_ = tokens.to(torch::kInt64).contiguous();
  valid_ = valid.to(torch::kBool).contiguous();
}

void LocalBankReader::write_entry(int64_t index, const std::vector<int32_t>& ids, bool valid) {
  ELM_CHECK(index >= 0 && index < num_entries(), "bank index ", index, " is outside [0, ", num_entries(), ")");
  ELM_CHECK(static_cast<int64_t>(ids.size()) == entry_length(), "bank entry ", index, ": ", ids.size(),
            " ids for entries of ", entry_length());
  // Raw pointers into the contiguous tables (reset() makes them contiguous): no torch op per write.
  int64_t* row = tokens_.data_ptr<int64_t>() + index * entry_length();
  for (int64_t j = 0; j < entry_length(); ++j) row[j] = ids[static_cast<size_t>(j)];
  valid_.data_ptr<bool>()[index] = valid;
}

void check_bank_indices(const torch::Tensor& flat, int64_t num_entries, const std::string& where) {
  if (flat.numel() == 0) return;
  const int64_t lo = flat.min().item<int64_t>(), hi = flat.max().item<int64_t>();
  ELM_CHECK(lo >= 0 && hi < num_entries, "bank index ", (lo < 0 ? lo : hi), " is outside [0, ", num_entries, ")",
            where);
}

BankRows LocalBankReader::fetch(const torch::Tensor& indices) const {
  auto flat = indices.reshape({-1}).to(torch::kInt64);
  check_bank_indices(flat, num_entries());
  auto shape = indices.sizes().vec();
  auto token_shape = shape;
  token_shape.push_back(entry_length());
  return {tokens_.index_select(0, flat).view(token_shape), valid_.index_select(0, flat).view(shape)};
}

}  // namespace elm::memory
