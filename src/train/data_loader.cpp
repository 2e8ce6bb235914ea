#include "train/data_loader.h"

#include <algorithm>

#include "core/error.h"

namespace elm::train {

DataLoader::DataLoader(const Dataset& data, std::int64_t batch_size, std::int32_t pad_id, bool shuffle,
                       DataCursor cursor)
    : data_(&data), batch_size_(batch_size), pad_id_(pad_id), shuffle_(shuffle), cursor_(cursor) {
  ELM_CHECK(batch_size >= 1, "batch size must be >= 1, got ", batch_size);
  ELM_CHECK(data.size() >= 1, "dataset ", data.path(), " is empty");
  ELM_CHECK(cursor.epoch >= 0 && cursor.position >= 0 && cursor.position <= data.size(),
            "data cursor (", cursor.to_string(), ") does not fit ", data.path(), " with ", data.size(),
            " examples: was the data changed since the checkpoint?");
  if (cursor_.position == data.size()) {
    cursor_.position = 0;
    ++cursor_.epoch;
  }
  enter_epoch(cursor_.epoch);
}

void DataLoader::enter_epoch(std::int64_t epoch) {
  order_ = epoch_order(data_->size(), cursor_.seed, epoch, shuffle_);
}

std::vector<std::int64_t> DataLoader::peek_indices() const {
  const auto begin = cursor_.position;
  const auto end = std::min(begin + batch_size_, data_->size());
  return std::vector<std::int64_t>(order_.begin() + begin, order_.begin() + end);
}

bool DataLoader::next(Batch* out) {
  *out = collate(*data_, next_indices(), pad_id_);
  return true;
}

std::vector<std::int64_t> DataLoader::next_indices() {
  std::vector<std::int64_t> idx = peek_indices();
  cursor_.position += static_cast<std::int64_t>(idx.size());
  if (cursor_.position >= data_->size()) {
    cursor_.position = 0;
    ++cursor_.epoch;
    enter_epoch(cursor_.epoch);
  }
  return idx;
}

std::int64_t DataLoader::batches_per_epoch() const {
  return (data_->size() + batch_size_ - 1) / batch_size_;
}

}  // namespace elm::train
