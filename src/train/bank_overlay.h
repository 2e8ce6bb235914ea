#pragma once
// A bank seen through per-example overrides: row b of a batch reads some entries with other
// contents (BankOverride: counterfactual training, DEMO-NOTES 2), every other read goes to the base
// bank unchanged. The base bank is never modified, so overrides cannot leak into other examples
// or outlive their step.
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "memory/bank_reader.h"

namespace elm::train {

class OverlayBankReader : public memory::BankReader {
 public:
  // rows[b] maps entry index -> its tokens for batch row b (each of length L = base->entry_length();
  // an all-padding row is invalid, as in the bank). fetch() then requires indices of shape [B, ...].
  OverlayBankReader(std::shared_ptr<const memory::BankReader> base,
                    std::vector<std::map<int64_t, std::vector<int32_t>>> rows);

  int64_t num_entries() const override { return base_->num_entries(); }
  int64_t entry_length() const override { return base_->entry_length(); }
  int64_t pad_id() const override { return base_->pad_id(); }
  memory::BankRows fetch(const torch::Tensor& indices) const override;
  bool varies_by_batch_row() const override { return !empty(); }

  bool empty() const;  // no row overrides anything

 private:
  std::shared_ptr<const memory::BankReader> base_;
  std::vector<std::map<int64_t, std::vector<int32_t>>> rows_;
};

}  // namespace elm::train
