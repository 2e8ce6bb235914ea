#include "train/bank_overlay.h"

#include "core/error.h"

namespace elm::train {

OverlayBankReader::OverlayBankReader(std::shared_ptr<const memory::BankReader> base,
                                     std::vector<std::map<int64_t, std::vector<int32_t>>> rows)
    : base_(std::move(base)), rows_(std::move(rows)) {
  ELM_CHECK(base_ != nullptr, "OverlayBankReader: no base bank");
  const int64_t n = base_->num_entries(), l = base_->entry_length();
  for (size_t b = 0; b < rows_.size(); ++b) {
    for (const auto& [index, tokens] : rows_[b]) {
      ELM_CHECK(index >= 0 && index < n, "bank override of batch row ", b, ": entry ", index, " outside [0, ", n, ")");
      ELM_CHECK(static_cast<int64_t>(tokens.size()) == l, "bank override of entry ", index, " has ", tokens.size(),
                " tokens, the bank's entries have ", l);
    }
  }
}

bool OverlayBankReader::empty() const {
  for (const auto& r : rows_) {
    if (!r.empty()) return false;
  }
  return true;
}

memory::BankRows OverlayBankReader::fetch(const torch::Tensor& indices) const {
  memory::BankRows out = base_->fetch(indices);
  if (empty()) return out;
  ELM_CHECK(indices.dim() >= 1 && indices.size(0) == static_cast<int64_t>(rows_.size()),
            "OverlayBankReader: indices of shape ", indices.sizes(), " do not start with the batch size ", rows_.size());
  out.tokens = out.tokens.clone();
  out.valid = out.valid.clone();
  const int64_t pad = base_->pad_id();
  for (size_t b = 0; b < rows_.size(); ++b) {
    if (rows_[b].empty()) continue;
    const auto bi = static_cast<int64_t>(b);
    auto idx = indices[bi];
    auto tok = out.tokens[bi];
    auto val = out.valid[bi];
    for (const auto& [index, tokens] : rows_[b]) {
      auto hit = idx.eq(index);
      if (!hit.any().item<bool>()) continue;
      auto row = torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.end()), torch::kInt64).to(tok.dtype());
      const bool valid = row.ne(pad).any().item<bool>();
      // tok [..., L]: broadcast the row into every position that names this entry.
      tok.index_put_({hit}, row);
      val.masked_fill_(hit, valid);
    }
  }
  return out;
}

}  // namespace elm::train
