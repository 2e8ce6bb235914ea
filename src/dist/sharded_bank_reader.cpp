#include "dist/sharded_bank_reader.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include <ATen/Parallel.h>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/error.h"

namespace elm::dist {

namespace {

std::vector<int64_t> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kInt64).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// A copy of contiguous `t` in memory the kernel may back with 2 MiB pages (transparent huge pages,
// which in the common `madvise` mode only applies to memory that asks for it). fetch() reads rows
// scattered over the whole shard; with 4 KiB pages nearly every row also misses the TLB (16K
// scattered rows of a 1 GiB table: 1.47 ms with 4 KiB pages, 0.42 ms with 2 MiB pages, measured
// on the development machine). Elsewhere, or for small tables, `t` itself.
torch::Tensor in_huge_pages(const torch::Tensor& t) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
  if (bytes < kHuge) return t;
  const size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
  void* memory = std::aligned_alloc(kHuge, rounded);
  if (memory == nullptr) return t;
  madvise(memory, rounded, MADV_HUGEPAGE);  // advice: without THP the copy is plain memory
  std::memcpy(memory, t.data_ptr(), bytes);
  return torch::from_blob(memory, t.sizes(), [](void* m) { std::free(m); }, t.options());
#else
  return t;
#endif
}

// Bits needed to hold the values 0 .. v - 1 (0 for v <= 1).
int bit_width(uint64_t v) {
  int bits = 0;
  while (bits < 64 && (uint64_t{1} << bits) < v) ++bits;
  return bits;
}

// Sorts distinct words by their bits [lo, hi) (the words differ in their low bits, which are in
// increasing order on entry): an LSD radix sort, stable, so equal high bits keep that order and
// the result is fully sorted. Small inputs use std::sort (same result: the words are distinct).
void sort_high_bits(std::vector<uint64_t>& a, int lo, int hi) {
  const size_t n = a.size();
  if (n < 512 || hi <= lo) {
    std::sort(a.begin(), a.end());
    return;
  }
  const int passes = (hi - lo + 10) / 11;
  const int digit = (hi - lo + passes - 1) / passes;  // <= 11 bits: 2048-entry histograms
  const size_t buckets = size_t{1} << digit;
  const uint64_t mask = buckets - 1;
  // Every pass's histogram in one read of the input.
  std::vector<size_t> offset(buckets * static_cast<size_t>(passes), 0);
  for (uint64_t x : a) {
    for (int pass = 0; pass < passes; ++pass) ++offset[pass * buckets + ((x >> (lo + pass * digit)) & mask)];
  }
  std::vector<uint64_t> tmp(n);
  for (int pass = 0; pass < passes; ++pass) {
    size_t* count = offset.data() + pass * buckets;
    const int shift = lo + pass * digit;
    if (count[(a[0] >> shift) & mask] == n) continue;  // one bucket: this digit is the same everywhere
    size_t total = 0;
    for (size_t b = 0; b < buckets; ++b) {
      const size_t c = count[b];
      count[b] = total;
      total += c;
    }
    for (uint64_t x : a) tmp[count[(x >> shift) & mask]++] = x;
    a.swap(tmp);
  }
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> slice_shard(const ShardLayout& layout, int rank, const torch::Tensor& tokens,
                                                    const torch::Tensor& valid) {
  ELM_CHECK(tokens.dim() == 2 && tokens.size(0) == layout.num_entries() && valid.dim() == 1 &&
                valid.size(0) == layout.num_entries(),
            "slice_shard: the bank must be tokens [N, L] and valid [N] with N = ", layout.num_entries());
  const int64_t rows = layout.rows_of(rank);
  torch::Tensor globals;
  if (layout.sharding() == BankSharding::kBlock) {
    globals = torch::arange(layout.first_of(rank), layout.first_of(rank) + rows, torch::kInt64);
  } else {
    globals = torch::arange(0, rows, torch::kInt64) * layout.group_size() + rank;
  }
  return {tokens.index_select(0, globals), valid.index_select(0, globals)};
}

ShardedBankReader::ShardedBankReader(Communicator& comm, ShardLayout layout, torch::Tensor tokens,
                                     torch::Tensor valid, int64_t entry_length, int64_t pad_id)
    : comm_(comm), layout_(std::move(layout)), entry_length_(entry_length), pad_id_(pad_id) {
  ELM_CHECK(layout_.group_size() == comm.size(), "sharded bank: the layout is for ", layout_.group_size(),
            " ranks but the group has ", comm.size(), " (", comm.where(), ")");
  const int64_t rows = layout_.rows_of(comm.rank());
  ELM_CHECK(tokens.dim() == 2 && tokens.size(0) == rows && tokens.size(1) == entry_length,
            "sharded bank: ", comm.where(), " must hold tokens [", rows, ", ", entry_length, "], got ", tokens.sizes());
  ELM_CHECK(valid.dim() == 1 && valid.size(0) == rows, "sharded bank: ", comm.where(), " must hold valid [", rows,
            "], got ", valid.sizes());
  tokens_ = in_huge_pages(tokens.to(torch::kInt32).contiguous());
  valid_ = in_huge_pages(valid.to(torch::kBool).contiguous());
  // Every rank must describe the same bank: compare (N, L, pad, sharding) with rank 0's.
  auto mine = torch::tensor({layout_.num_entries(), entry_length, pad_id, static_cast<int64_t>(layout_.sharding())},
                            torch::kInt64);
  auto root = mine.clone();
  comm.broadcast(root, 0);
  ELM_CHECK(torch::equal(mine, root), "sharded bank: ", comm.where(), " has (N, L, pad id, sharding) = ",
            to_vector(mine), " but rank 0 has ", to_vector(root));
}

int64_t ShardedBankReader::shard_bytes() const {
  return tokens_.numel() * static_cast<int64_t>(tokens_.element_size()) + valid_.numel();
}

memory::BankRows ShardedBankReader::fetch(const torch::Tensor& indices) const {
  const int g = comm_.size(), me = comm_.rank();
  const int64_t L = entry_length_, row = L + 1;
  const torch::Tensor flat = indices.reshape({-1}).to(torch::kCPU, torch::kInt64).contiguous();
  memory::check_bank_indices(flat, num_entries(), " (" + comm_.where() + ")");
  const int64_t n = flat.numel();
  const int64_t* in = flat.data_ptr<int64_t>();
  const bool block = layout_.sharding() == BankSharding::kBlock;
  const uint64_t per_owner = static_cast<uint64_t>(std::max<int64_t>(layout_.max_rows(), 1));  // ceil(N / g)
  const int64_t first = block ? layout_.first_of(me) : 0;
  const int64_t shard_rows = tokens_.size(0);
  const int32_t* bank_tokens = tokens_.data_ptr<int32_t>();
  const bool* bank_valid = valid_.data_ptr<bool>();
  // Sort key of entry i: owner * ceil(N/g) + local row, so keys order entries by owner, then by
  // local row (block: the key is i itself; cyclic: (i % g) * ceil(N/g) + i / g).
  auto key_of = [&](int64_t i) -> uint64_t {
    return block ? static_cast<uint64_t>(i) : static_cast<uint64_t>(i % g) * per_owner + static_cast<uint64_t>(i / g);
  };
  auto index_of = [&](uint64_t key) -> int64_t {
    return block ? static_cast<int64_t>(key)
                 : static_cast<int64_t>(key % per_owner) * g + static_cast<int64_t>(key / per_owner);
  };
  auto local_row = [&](int64_t i) { return block ? i - first : i / g; };

  // 1. Deduplicate and group by owner: one radix sort of words (key, position) orders the request
  // by owner, then by entry, then by position. The distinct keys are the unique indices, in the
  // order the requests go out below; inverse[p] is the unique index position p asked for.
  const int key_bits = bit_width(static_cast<uint64_t>(g) * per_owner);
  const int pos_bits = bit_width(static_cast<uint64_t>(n));
  ELM_CHECK(key_bits + pos_bits <= 64 && pos_bits <= 32, "sharded bank: ", comm_.where(), ": ", n,
            " indices into ", num_entries(), " entries exceed the 64-bit sort key (at most 2^32 indices, and",
            " bits(N) + bits(indices) <= 64); split the request");
  const uint64_t pos_mask = pos_bits == 0 ? 0 : (~uint64_t{0} >> (64 - pos_bits));
  std::vector<uint64_t> words(static_cast<size_t>(n));
  for (int64_t p = 0; p < n; ++p) words[p] = (key_of(in[p]) << pos_bits) | static_cast<uint64_t>(p);
  sort_high_bits(words, pos_bits, pos_bits + key_bits);
  std::vector<int64_t> unique_index;  // global index of each unique request, owner-major
  std::vector<uint32_t> inverse(static_cast<size_t>(n));  // position -> its unique index
  std::vector<int64_t> counts(static_cast<size_t>(g), 0);
  unique_index.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t key = words[i] >> pos_bits;
    if (i == 0 || key != (words[i - 1] >> pos_bits)) {
      unique_index.push_back(index_of(key));
      ++counts[static_cast<size_t>(key / per_owner)];
    }
    inverse[static_cast<size_t>(words[i] & pos_mask)] = static_cast<uint32_t>(unique_index.size() - 1);
  }
  const int64_t unique = static_cast<int64_t>(unique_index.size());

  // 2. Requests to the other owners; this rank's own entries never go through MPI (its count is 0
  // on both sides, so the unique indices it owns are a gap in the request list).
  int64_t own_begin = 0;
  for (int r = 0; r < me; ++r) own_begin += counts[static_cast<size_t>(r)];
  const int64_t own = counts[static_cast<size_t>(me)], own_end = own_begin + own;
  std::vector<int64_t> send_counts = counts;
  send_counts[static_cast<size_t>(me)] = 0;
  const torch::Tensor all_requests = torch::from_blob(unique_index.data(), {unique}, torch::kInt64);
  const torch::Tensor requests =
      own == 0 ? all_requests
               : torch::cat({all_requests.narrow(0, 0, own_begin), all_requests.narrow(0, own_end, unique - own_end)});
  const std::vector<int64_t> recv_counts = comm_.exchange_counts(send_counts);
  const torch::Tensor asked = comm_.all_to_all_v(requests, send_counts, recv_counts);  // indices others want

  // 3. Gather the rows asked of this rank: tokens and validity in one int32 row each.
  const int64_t m = asked.size(0);
  torch::Tensor reply = torch::empty({m, row}, torch::kInt32);
  {
    const int64_t* want = asked.data_ptr<int64_t>();
    int32_t* out = reply.data_ptr<int32_t>();
    constexpr int64_t kAhead = 32;  // rows are scattered over the shard: prefetch well ahead
    for (int64_t k = 0; k < m; ++k) {
      if (k + kAhead < m) {
        const int64_t ahead = local_row(want[k + kAhead]);
        if (ahead >= 0 && ahead < shard_rows) {
          __builtin_prefetch(bank_tokens + ahead * L);
          __builtin_prefetch(bank_valid + ahead);
        }
      }
      const int64_t local = local_row(want[k]);
      ELM_CHECK(local >= 0 && local < shard_rows, "sharded bank: ", comm_.where(), " was asked for entry ", want[k],
                ", which it does not own");
      std::memcpy(out + k * row, bank_tokens + local * L, static_cast<size_t>(L) * sizeof(int32_t));
      out[k * row + L] = bank_valid[local] ? 1 : 0;
    }
  }
  // 4. Rows go back; what comes from rank r answers what was sent to r, in the same order.
  const torch::Tensor rows = comm_.all_to_all_v(reply, recv_counts, send_counts);  // [unique - own, L + 1]

  // 5. Undo the deduplication: unique index u is row u of the received rows (u - own past this
  // rank's gap) or, for this rank's own entries, its shard row; position p gets the tokens of
  // unique index inverse[p], widened to int64, in position order (sequential writes; the reads
  // are scattered, so they are prefetched a few positions ahead).
  std::vector<const int32_t*> source(static_cast<size_t>(unique));
  std::vector<uint8_t> source_valid(static_cast<size_t>(unique));
  {
    const int32_t* received = rows.data_ptr<int32_t>();
    for (int64_t u = 0; u < unique; ++u) {
      if (u >= own_begin && u < own_end) {
        const int64_t local = local_row(unique_index[static_cast<size_t>(u)]);
        source[u] = bank_tokens + local * L;
        source_valid[u] = bank_valid[local] ? 1 : 0;
      } else {
        const int32_t* r = received + (u < own_begin ? u : u - own) * row;
        source[u] = r;
        source_valid[u] = r[L] != 0 ? 1 : 0;
      }
    }
  }
  auto shape = indices.sizes().vec();
  auto token_shape = shape;
  token_shape.push_back(L);
  torch::Tensor out_tokens = torch::empty({n, L}, torch::kInt64);
  torch::Tensor out_valid = torch::empty({n}, torch::kBool);
  {
    int64_t* tok = out_tokens.data_ptr<int64_t>();
    bool* val = out_valid.data_ptr<bool>();
    const uint32_t* inv = inverse.data();
    const int32_t* const* src = source.data();
    const uint8_t* src_valid = source_valid.data();
    at::parallel_for(0, n, 4096, [&](int64_t begin, int64_t end) {
      constexpr int64_t kAhead = 16;
      for (int64_t p = begin; p < end; ++p) {
        if (p + kAhead < end) __builtin_prefetch(src[inv[p + kAhead]]);
        const uint32_t u = inv[p];
        const int32_t* r = src[u];
        int64_t* t = tok + p * L;
        for (int64_t j = 0; j < L; ++j) t[j] = r[j];
        val[p] = src_valid[u] != 0;
      }
    });
  }

  stats_.requested = n;
  stats_.unique = unique;
  stats_.remote = unique - own;
  // Indices travel as int64, rows as L + 1 int32 (the tokens and the validity flag).
  stats_.bytes_sent = (unique - own) * 8 + m * row * 4;
  stats_.bytes_received = m * 8 + (unique - own) * row * 4;
  return {out_tokens.view(token_shape), out_valid.view(shape)};
}

}  // namespace elm::dist
