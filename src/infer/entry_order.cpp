#include "infer/entry_order.h"

#include <limits>

#include "core/error.h"

namespace elm::infer {
namespace {

int32_t checked_size(int64_t first, int64_t end, const char* what) {
  ELM_CHECK(0 <= first && first < end, what, ": empty entry range [", first, ", ", end, ")");
  ELM_CHECK(end - first < std::numeric_limits<int32_t>::max(), what, ": ", end - first,
            " entries are more than 32-bit offsets can hold");
  return static_cast<int32_t>(end - first);
}

}  // namespace

RecencyList::RecencyList(int64_t first, int64_t end, const std::vector<int64_t>& order) : first_(first), end_(end) {
  const int32_t n = checked_size(first, end, "RecencyList");
  ELM_CHECK(static_cast<int64_t>(order.size()) == n, "RecencyList: the order lists ", order.size(),
            " entries for a range of ", n);
  sentinel_ = n;
  prev_.assign(static_cast<size_t>(n) + 1, -1);
  next_.assign(static_cast<size_t>(n) + 1, -1);
  int32_t last = sentinel_;
  for (int64_t i : order) {
    ELM_CHECK(contains(i), "RecencyList: entry ", i, " is outside [", first, ", ", end, ")");
    const int32_t k = static_cast<int32_t>(i - first);
    ELM_CHECK(prev_[k] == -1, "RecencyList: entry ", i, " is listed twice");
    next_[last] = k;
    prev_[k] = last;
    last = k;
  }
  next_[last] = sentinel_;
  prev_[sentinel_] = last;
}

int64_t RecencyList::front() const {
  ELM_CHECK(!next_.empty(), "RecencyList: empty");
  return first_ + next_[sentinel_];
}

void RecencyList::touch(int64_t i) {
  ELM_CHECK(contains(i), "RecencyList: entry ", i, " is outside [", first_, ", ", end_, ")");
  const int32_t k = static_cast<int32_t>(i - first_);
  if (prev_[sentinel_] == k) return;  // already the most recent
  next_[prev_[k]] = next_[k];         // unlink
  prev_[next_[k]] = prev_[k];
  const int32_t last = prev_[sentinel_];  // append before the sentinel
  next_[last] = k;
  prev_[k] = last;
  next_[k] = sentinel_;
  prev_[sentinel_] = k;
}

std::vector<int64_t> RecencyList::order() const {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(sentinel_));
  for (int32_t k = next_.empty() ? -1 : next_[sentinel_]; k != sentinel_ && k >= 0; k = next_[k]) {
    out.push_back(first_ + k);
  }
  return out;
}

ImportanceHeap::ImportanceHeap(int64_t first, int64_t end, const std::vector<uint64_t>& ages)
    : first_(first), end_(end) {
  const int32_t n = checked_size(first, end, "ImportanceHeap");
  ELM_CHECK(static_cast<int64_t>(ages.size()) == n, "ImportanceHeap: ", ages.size(), " ages for a range of ", n);
  count_.assign(static_cast<size_t>(n), 0);
  age_ = ages;
  heap_.resize(static_cast<size_t>(n));
  pos_.resize(static_cast<size_t>(n));
  for (int32_t k = 0; k < n; ++k) heap_[k] = pos_[k] = k;
  for (int32_t slot = n / 2 - 1; slot >= 0; --slot) sift_down(slot);
}

int64_t ImportanceHeap::top() const {
  ELM_CHECK(!heap_.empty(), "ImportanceHeap: empty");
  return first_ + heap_[0];
}

bool ImportanceHeap::less(int32_t a, int32_t b) const {
  if (count_[a] != count_[b]) return count_[a] < count_[b];
  if (age_[a] != age_[b]) return age_[a] < age_[b];
  return a < b;
}

void ImportanceHeap::swap_slots(int32_t a, int32_t b) {
  std::swap(heap_[a], heap_[b]);
  pos_[heap_[a]] = a;
  pos_[heap_[b]] = b;
}

void ImportanceHeap::sift_up(int32_t slot) {
  while (slot > 0) {
    const int32_t parent = (slot - 1) / 2;
    if (!less(heap_[slot], heap_[parent])) break;
    swap_slots(slot, parent);
    slot = parent;
  }
}

void ImportanceHeap::sift_down(int32_t slot) {
  const int32_t n = static_cast<int32_t>(heap_.size());
  for (;;) {
    const int32_t l = 2 * slot + 1, r = l + 1;
    int32_t best = slot;
    if (l < n && less(heap_[l], heap_[best])) best = l;
    if (r < n && less(heap_[r], heap_[best])) best = r;
    if (best == slot) return;
    swap_slots(slot, best);
    slot = best;
  }
}

void ImportanceHeap::update(int64_t i, uint64_t count, uint64_t age) {
  ELM_CHECK(contains(i), "ImportanceHeap: entry ", i, " is outside [", first_, ", ", end_, ")");
  const int32_t k = static_cast<int32_t>(i - first_);
  count_[k] = count;
  age_[k] = age;
  sift_up(pos_[k]);
  sift_down(pos_[k]);
}

}  // namespace elm::infer
