#pragma once
// Iterates a Dataset in batches, epoch after epoch, in a deterministic order per (seed, epoch).
//
//   DataLoader loader(data, batch_size, pad_id, /*shuffle=*/true, DataCursor{0, 0, seed});
//   Batch b;
//   while (loader.cursor().epoch < epochs && loader.next(&b)) { ... save loader.cursor() ... }
//
// Batches never cross an epoch boundary (the last batch of an epoch may be smaller). A loader
// built from a saved cursor serves exactly the batches the saving loader would have served next.
#include <cstdint>
#include <vector>

#include "train/data_batch.h"
#include "train/data_cursor.h"
#include "train/dataset.h"

namespace elm::train {

class DataLoader {
 public:
  // `data` must outlive the loader. Throws elm::Error for batch_size < 1 or a cursor whose
  // position lies beyond the dataset (the data changed since the cursor was saved).
  DataLoader(const Dataset& data, std::int64_t batch_size, std::int32_t pad_id, bool shuffle,
             DataCursor cursor = {});

  // Fills *out with the next batch and advances the cursor (to {epoch + 1, 0} after an epoch's last
  // batch). Always succeeds: the caller stops by cursor().epoch or by step count.
  bool next(Batch* out);
  // The dataset indices of the next batch, advancing like next() (data parallelism: every rank
  // takes the same global batch and collates its own rows of it).
  std::vector<std::int64_t> next_indices();
  // The dataset indices of the next batch, without advancing.
  std::vector<std::int64_t> peek_indices() const;

  const DataCursor& cursor() const { return cursor_; }
  std::int64_t batches_per_epoch() const;
  std::int64_t batch_size() const { return batch_size_; }

 private:
  void enter_epoch(std::int64_t epoch);

  const Dataset* data_;
  std::int64_t batch_size_;
  std::int32_t pad_id_;
  bool shuffle_;
  DataCursor cursor_;
  std::vector<std::int64_t> order_;  // this epoch's order
};

}  // namespace elm::train
