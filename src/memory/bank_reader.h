#pragma once
// How memory layers read the bank: token rows for entry indices. Model code only sees this
// interface; memory/ implements the local (replicated) reader, dist/ will implement the sharded
// all-to-all one, and both must return identical results.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace elm::memory {

struct BankRows {
  torch::Tensor tokens;  // [..., L] int64 token ids (pad_id where the entry is shorter than L)
  torch::Tensor valid;   // [...] bool: false for invalid (all-padding / emptied) entries
};

class BankReader {
 public:
  virtual ~BankReader() = default;
  virtual int64_t num_entries() const = 0;   // N
  virtual int64_t entry_length() const = 0;  // L
  virtual int64_t pad_id() const = 0;
  // Rows of the entries named by `indices` (any shape, int64 in [0, N)); the result has the
  // shape of `indices` plus [L] for tokens.
  virtual BankRows fetch(const torch::Tensor& indices) const = 0;
  // True when an entry's contents depend on the batch row asking (training overlays with
  // per-example overrides): fetch() then needs indices of shape [B, ...] and callers must not
  // merge the requests of different rows.
  virtual bool varies_by_batch_row() const { return false; }
};

// Throws elm::Error "bank index I is outside [0, N)<where>" when a flat int64 index tensor holds an
// index outside [0, N); every reader checks its requests with it before fetching.
void check_bank_indices(const torch::Tensor& flat, int64_t num_entries, const std::string& where = "");

// A bank held whole in this process: tokens [N, L] (int32 or int64) and valid [N] bool.
class LocalBankReader : public BankReader {
 public:
  LocalBankReader(torch::Tensor tokens, torch::Tensor valid, int64_t pad_id);
  int64_t num_entries() const override { return tokens_.size(0); }
  int64_t entry_length() const override { return tokens_.size(1); }
  int64_t pad_id() const override { return pad_id_; }
  BankRows fetch(const torch::Tensor& indices) const override;

  // Replaces the tables (e.g. after an edit); shapes must stay [N, L] and [N].
  void reset(torch::Tensor tokens, torch::Tensor valid);
  // Rewrites one entry in place, O(L): `ids` holds exactly L ids (pad_id after the end). Callers
  // must not run fetch() concurrently (inference applies bank updates between requests).
  void write_entry(int64_t index, const std::vector<int32_t>& ids, bool valid);

 private:
  torch::Tensor tokens_, valid_;
  int64_t pad_id_;
};

}  // namespace elm::memory
