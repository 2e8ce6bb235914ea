#pragma once
// The bank's fingerprint for the replicated inference bank (docs/inference.md, "Replicas and their
// proof"): three XOR-combined row checksums (io/row_checksum.h), of the tokens, the validity flags
// and the texts, shown as "xor64:...:xor64:...:xor64:...". Identical banks give identical text.
//
// Because every part is an XOR of per-row hashes, a write of one entry changes it by the hashes of
// the entry's old and new contents alone: BankChecksum::apply follows an update in O(writes x L)
// from the updater's report, so the dual path proves the replicas after every round without a
// scan of the N entries, and recomputes from the whole bank (O(N L)) only now and then to catch a
// change that did not go through the updater.
#include <cstdint>
#include <string>
#include <vector>

#include "memory/bank.h"

namespace elm::infer {

struct EntryWrite;

struct BankChecksum {
  uint64_t tokens = 0, valid = 0, texts = 0;

  // O(N L): the checksum of the whole bank as it is now.
  static BankChecksum of(const memory::MemoryBank& bank);
  // One entry rewritten: `old_*` and `new_*` are its row before and after (ids: all L of them).
  void replace(int64_t index, const std::vector<int32_t>& old_ids, const std::vector<int32_t>& new_ids,
               bool old_valid, bool new_valid, const std::string& old_text, const std::string& new_text);
  // One write of a BankUpdater report (the entry becomes valid with the write's ids and text).
  void apply(const EntryWrite& write);

  std::string text() const;
  bool operator==(const BankChecksum& o) const { return tokens == o.tokens && valid == o.valid && texts == o.texts; }
  bool operator!=(const BankChecksum& o) const { return !(*this == o); }
};

// BankChecksum::of(bank).text().
std::string bank_checksum(const memory::MemoryBank& bank);

}  // namespace elm::infer
