#include "text/bpe.h"

#include <limits>
#include <queue>

#include "core/error.h"

namespace elm::text {
namespace {
constexpr std::int32_t kNoRank = std::numeric_limits<std::int32_t>::max();
// Words up to this many bytes use the array scan; longer ones a heap (O(n log n)).
constexpr std::size_t kShortWord = 64;
}  // namespace

BpeMerges::BpeMerges(const std::vector<std::int32_t>& byte_ids) : byte_ids_(byte_ids) {
  ELM_CHECK(byte_ids_.size() == 256, "BPE needs 256 byte tokens, got ", byte_ids_.size());
  table_.assign(1024, Entry{kEmpty, {}});
  mask_ = table_.size() - 1;
}

void BpeMerges::grow() {
  std::vector<Entry> old;
  old.swap(table_);
  table_.assign(old.size() * 2, Entry{kEmpty, {}});
  mask_ = table_.size() - 1;
  size_ = 0;
  for (const Entry& e : old) {
    if (e.key == kEmpty) continue;
    std::size_t slot = hash(e.key) & mask_;
    while (table_[slot].key != kEmpty) slot = (slot + 1) & mask_;
    table_[slot] = e;
    ++size_;
  }
}

void BpeMerges::add(std::int32_t left, std::int32_t right, std::int32_t rank, std::int32_t merged) {
  if ((size_ + 1) * 2 > table_.size()) grow();
  const std::uint64_t key = pack(left, right);
  std::size_t slot = hash(key) & mask_;
  while (table_[slot].key != kEmpty) {
    if (table_[slot].key == key) {  // a repeated pair takes its last rank, as HF's HashMap does
      table_[slot].merge = Merge{rank, merged};
      return;
    }
    slot = (slot + 1) & mask_;
  }
  table_[slot] = Entry{key, Merge{rank, merged}};
  ++size_;
}

void BpeMerges::encode_word(std::string_view bytes, std::vector<std::int32_t>& out) const {
  const std::size_t n = bytes.size();
  if (n == 0) return;
  if (n == 1) {
    out.push_back(byte_ids_[static_cast<unsigned char>(bytes[0])]);
    return;
  }
  if (n > kShortWord) {
    encode_long(bytes, out);
    return;
  }
  // ids[k] and the merge of (ids[k], ids[k+1]) in merges[k]; merging shifts the arrays left.
  std::int32_t ids[kShortWord];
  Merge merges[kShortWord];
  for (std::size_t k = 0; k < n; ++k) ids[k] = byte_ids_[static_cast<unsigned char>(bytes[k])];
  for (std::size_t k = 0; k + 1 < n; ++k) merges[k] = find(ids[k], ids[k + 1]);
  std::size_t len = n;
  while (len > 1) {
    std::int32_t best = kNoRank;
    std::size_t at = 0;
    for (std::size_t k = 0; k + 1 < len; ++k) {
      const std::int32_t r = merges[k].rank;
      if (r >= 0 && r < best) {
        best = r;
        at = k;
      }
    }
    if (best == kNoRank) break;
    ids[at] = merges[at].id;
    for (std::size_t k = at + 1; k + 1 < len; ++k) ids[k] = ids[k + 1];
    for (std::size_t k = at + 1; k + 2 < len; ++k) merges[k] = merges[k + 1];
    --len;
    if (at > 0) merges[at - 1] = find(ids[at - 1], ids[at]);
    if (at + 1 < len) merges[at] = find(ids[at], ids[at + 1]);
  }
  out.insert(out.end(), ids, ids + len);
}

void BpeMerges::encode_long(std::string_view bytes, std::vector<std::int32_t>& out) const {
  // HF tokenizers' algorithm: a doubly linked list of symbols and a min-heap of candidate merges
  // ordered by (rank, position); stale entries are skipped when popped.
  const std::size_t n = bytes.size();
  struct Sym {
    std::int32_t id;
    std::int32_t prev;
    std::int32_t next;
  };
  std::vector<Sym> syms(n);
  for (std::size_t k = 0; k < n; ++k) {
    syms[k] = Sym{byte_ids_[static_cast<unsigned char>(bytes[k])], static_cast<std::int32_t>(k) - 1,
                  k + 1 < n ? static_cast<std::int32_t>(k + 1) : -1};
  }
  struct Cand {
    std::int32_t rank;
    std::int32_t pos;
    std::int32_t id;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto push = [&](std::int32_t pos) {
    const std::int32_t nx = syms[static_cast<std::size_t>(pos)].next;
    if (nx < 0) return;
    const Merge m = find(syms[static_cast<std::size_t>(pos)].id, syms[static_cast<std::size_t>(nx)].id);
    if (m.rank >= 0) heap.push(Cand{m.rank, pos, m.id});
  };
  for (std::size_t k = 0; k + 1 < n; ++k) push(static_cast<std::int32_t>(k));
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    Sym& s = syms[static_cast<std::size_t>(c.pos)];
    if (s.id < 0 || s.next < 0) continue;
    Sym& right = syms[static_cast<std::size_t>(s.next)];
    if (find(s.id, right.id).id != c.id) continue;  // stale entry
    s.id = c.id;
    right.id = -1;
    s.next = right.next;
    if (s.next >= 0) syms[static_cast<std::size_t>(s.next)].prev = c.pos;
    if (s.prev >= 0) push(s.prev);
    push(c.pos);
  }
  for (std::int32_t k = 0; k >= 0; k = syms[static_cast<std::size_t>(k)].next) {
    out.push_back(syms[static_cast<std::size_t>(k)].id);
  }
}

void BpeMerges::encode_word_naive(std::string_view bytes, std::vector<std::int32_t>& out) const {
  std::vector<std::int32_t> ids;
  ids.reserve(bytes.size());
  for (char b : bytes) ids.push_back(byte_ids_[static_cast<unsigned char>(b)]);
  while (ids.size() > 1) {
    std::int32_t best = kNoRank;
    std::size_t at = 0;
    std::int32_t merged = -1;
    for (std::size_t k = 0; k + 1 < ids.size(); ++k) {
      const Merge m = find(ids[k], ids[k + 1]);
      if (m.rank >= 0 && m.rank < best) {
        best = m.rank;
        at = k;
        merged = m.id;
      }
    }
    if (best == kNoRank) break;
    ids[at] = merged;
    ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(at) + 1);
  }
  out.insert(out.end(), ids.begin(), ids.end());
}

}  // namespace elm::text
