#pragma once
// Bookkeeping orders over the writable bank entries [first, end) that the update policies need in
// O(1) or O(log N) per operation (docs/bank-updates.md, "Policies and their costs"):
//   RecencyList     an intrusive doubly-linked list: touch(i) makes i the most recent, front() is the
//                   least recent (lru: used = retrieved or written; "oldest": written).
//   ImportanceHeap  an indexed binary min-heap on (retrieval count, write age, index): top() is the
//                   entry with the fewest retrievals, ties broken by the least recently written,
//                   then the lowest index.
// Both hold 32-bit offsets, so a range holds fewer than 2^31 entries (checked).
#include <cstdint>
#include <vector>

namespace elm::infer {

class RecencyList {
 public:
  RecencyList() = default;
  // `order` lists every entry of [first, end) exactly once, least recent first (checked).
  RecencyList(int64_t first, int64_t end, const std::vector<int64_t>& order);

  int64_t front() const;   // the least recent entry
  void touch(int64_t i);   // i becomes the most recent; i must lie in [first, end)
  bool contains(int64_t i) const { return i >= first_ && i < end_; }
  std::vector<int64_t> order() const;  // least recent first; O(size), for tests and reports

 private:
  int64_t first_ = 0, end_ = 0;
  int32_t sentinel_ = 0;              // = size: prev_/next_ slot of the list head
  std::vector<int32_t> prev_, next_;  // [size + 1], offsets from first_
};

class ImportanceHeap {
 public:
  ImportanceHeap() = default;
  // Every entry of [first, end) with count 0 and the write age ages[i - first].
  ImportanceHeap(int64_t first, int64_t end, const std::vector<uint64_t>& ages);

  int64_t top() const;                                // fewest retrievals, then oldest write, then lowest index
  void update(int64_t i, uint64_t count, uint64_t age);  // new key of entry i; O(log size)
  bool contains(int64_t i) const { return i >= first_ && i < end_; }

 private:
  bool less(int32_t a, int32_t b) const;  // offsets
  void sift_up(int32_t slot);
  void sift_down(int32_t slot);
  void swap_slots(int32_t a, int32_t b);

  int64_t first_ = 0, end_ = 0;
  std::vector<uint64_t> count_, age_;  // by offset
  std::vector<int32_t> heap_;          // slot -> offset
  std::vector<int32_t> pos_;           // offset -> slot
};

}  // namespace elm::infer
