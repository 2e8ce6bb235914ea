#pragma once
// Byte-pair-encoding merges over token ids: a word starts as one token per byte (byte-level
// alphabet) and the adjacent pair with the lowest merge rank is merged, leftmost first, until no
// pair has a rank (HF tokenizers' BPE without dropout, byte fallback or unk).
#include <cstdint>
#include <string_view>
#include <vector>

namespace elm::text {

class BpeMerges {
 public:
  struct Merge {
    std::int32_t rank = -1;
    std::int32_t id = -1;  // id of the merged token
  };

  // byte_ids[b]: id of the single-byte token for byte b.
  explicit BpeMerges(const std::vector<std::int32_t>& byte_ids);

  // Registers merge (left, right) -> merged with the given rank. A repeated pair takes the later rank (as
  // HF tokenizers and transformers.js do when they build their maps).
  void add(std::int32_t left, std::int32_t right, std::int32_t rank, std::int32_t merged);
  std::size_t size() const { return size_; }

  Merge find(std::int32_t left, std::int32_t right) const {
    const std::uint64_t key = pack(left, right);
    for (std::size_t slot = hash(key) & mask_;; slot = (slot + 1) & mask_) {
      const Entry& e = table_[slot];
      if (e.key == key) return e.merge;
      if (e.key == kEmpty) return {};
    }
  }

  // Appends the ids of one pre-tokenized word (raw bytes) to out.
  void encode_word(std::string_view bytes, std::vector<std::int32_t>& out) const;

  // Same result by the textbook O(n^2) loop (rescan every pair after every merge): a baseline for
  // benchmarks and a cross-check for tests.
  void encode_word_naive(std::string_view bytes, std::vector<std::int32_t>& out) const;

 private:
  struct Entry {
    std::uint64_t key;
    Merge merge;
  };
  static constexpr std::uint64_t kEmpty = ~0ull;
  static std::uint64_t pack(std::int32_t a, std::int32_t b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
           static_cast<std::uint32_t>(b);
  }
  static std::size_t hash(std::uint64_t key) {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> 32);
  }
  void grow();
  void encode_long(std::string_view bytes, std::vector<std::int32_t>& out) const;

  std::vector<std::int32_t> byte_ids_;
  std::vector<Entry> table_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace elm::text
