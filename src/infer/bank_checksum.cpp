#include "infer/bank_checksum.h"

#include "core/error.h"
#include "infer/bank_updater.h"
#include "io/row_checksum.h"

namespace elm::infer {
namespace {

uint64_t ids_hash(const std::vector<int32_t>& ids, int64_t index) {
  return io::row_hash(ids.data(), ids.size() * sizeof(int32_t), index);
}

uint64_t valid_hash(bool valid, int64_t index) {
  const uint8_t byte = valid ? 1 : 0;  // the row BankChecksum::of hashes: the flag as one byte
  return io::row_hash(&byte, 1, index);
}

uint64_t text_hash(const std::string& text, int64_t index) { return io::row_hash(text.data(), text.size(), index); }

}  // namespace

BankChecksum BankChecksum::of(const memory::MemoryBank& bank) {
  auto tokens = bank.tokens.to(torch::kInt32).contiguous();
  auto valid = bank.valid.to(torch::kUInt8).contiguous();
  const int64_t n = bank.num_entries;
  BankChecksum c;
  c.tokens = io::rows_checksum(tokens.data_ptr<int32_t>(), n, sizeof(int32_t) * bank.entry_length, 0);
  c.valid = io::rows_checksum(valid.data_ptr<uint8_t>(), n, 1, 0);
  for (int64_t i = 0; i < static_cast<int64_t>(bank.texts.size()); ++i) {
    c.texts ^= text_hash(bank.texts[static_cast<size_t>(i)], i);
  }
  return c;
}

void BankChecksum::replace(int64_t index, const std::vector<int32_t>& old_ids, const std::vector<int32_t>& new_ids,
                           bool old_valid, bool new_valid, const std::string& old_text, const std::string& new_text) {
  ELM_CHECK(old_ids.size() == new_ids.size(), "bank checksum: entry ", index, " rewritten with ", new_ids.size(),
            " ids over ", old_ids.size());
  tokens ^= ids_hash(old_ids, index) ^ ids_hash(new_ids, index);
  valid ^= valid_hash(old_valid, index) ^ valid_hash(new_valid, index);
  texts ^= text_hash(old_text, index) ^ text_hash(new_text, index);
}

void BankChecksum::apply(const EntryWrite& w) {
  replace(w.index, w.old_ids, w.ids, w.old_valid, /*new_valid=*/true, w.old_text, w.new_text);
}

std::string BankChecksum::text() const {
  return io::checksum_text(tokens) + ":" + io::checksum_text(valid) + ":" + io::checksum_text(texts);
}

std::string bank_checksum(const memory::MemoryBank& bank) { return BankChecksum::of(bank).text(); }

}  // namespace elm::infer
