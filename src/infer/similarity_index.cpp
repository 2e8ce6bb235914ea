#include "infer/similarity_index.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <queue>
#include <random>
#include <tuple>

#include <ATen/Parallel.h>

#include "core/error.h"

namespace elm::infer {
namespace {

constexpr int64_t kMaxBits = 20;  // buckets_ holds tables << bits vectors

// A standard normal draw from arithmetic only (Irwin-Hall: the sum of 12 uniforms minus 6), so the
// hyperplanes are the same on every platform and standard library; close enough to Gaussian for
// random-hyperplane hashing.
float normal_draw(std::mt19937_64& rng) {
  double s = 0;
  for (int i = 0; i < 12; ++i) s += static_cast<double>(rng() >> 11) * 0x1.0p-53;
  return static_cast<float>(s - 6.0);
}

// Bits set in x, without relying on a POPCNT instruction (the portable __builtin_popcountll calls
// a slow library routine unless the build targets a CPU that has one).
inline int bit_count(uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
  return static_cast<int>((x * 0x0101010101010101ull) >> 56);
}

// Keys (Hamming distance << 32 | offset) of n bucket slots against the query's signature, with a
// histogram of the distances. Two builds of the same loop: with the POPCNT instruction where the
// CPU has it (checked at run time), else bit_count; both give the same keys.
template <class SlotT>
void score_slots_generic(const SlotT* slots, size_t n, uint64_t q0, uint64_t q1, uint64_t* keys,
                         uint32_t* histogram) {
  for (size_t k = 0; k < n; ++k) {
    const int ham = bit_count(slots[k].signature[0] ^ q0) + bit_count(slots[k].signature[1] ^ q1);
    ++histogram[ham];
    keys[k] = static_cast<uint64_t>(ham) << 32 | static_cast<uint32_t>(slots[k].off);
  }
}
#if defined(__x86_64__) && defined(__GNUC__)
template <class SlotT>
__attribute__((target("popcnt"))) void score_slots_popcnt(const SlotT* slots, size_t n, uint64_t q0, uint64_t q1,
                                                           uint64_t* keys, uint32_t* histogram) {
  for (size_t k = 0; k < n; ++k) {
    const int ham = __builtin_popcountll(slots[k].signature[0] ^ q0) + __builtin_popcountll(slots[k].signature[1] ^ q1);
    ++histogram[ham];
    keys[k] = static_cast<uint64_t>(ham) << 32 | static_cast<uint32_t>(slots[k].off);
  }
}
bool cpu_has_popcnt() {
  static const bool has = __builtin_cpu_supports("popcnt");
  return has;
}
#endif

template <class SlotT>
void score_slots(const SlotT* slots, size_t n, uint64_t q0, uint64_t q1, uint64_t* keys, uint32_t* histogram) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu_has_popcnt()) return score_slots_popcnt(slots, n, q0, q1, keys, histogram);
#endif
  score_slots_generic(slots, n, q0, q1, keys, histogram);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int64_t auto_bits(int64_t writable) {
  // About 16 entries per bucket when the writable range is full.
  const double b = std::round(std::log2(std::max(1.0, static_cast<double>(writable) / 16.0)));
  return std::clamp<int64_t>(static_cast<int64_t>(b), 1, kMaxBits);
}

void LshOptions::validate() const {
  ELM_CHECK(tables >= 1 && tables <= 64, "inference.lsh_tables must be in [1, 64], got ", tables);
  ELM_CHECK(bits >= 0 && bits <= kMaxBits, "inference.lsh_bits must be in [0, ", kMaxBits, "] (0 = auto), got ",
            bits);
  ELM_CHECK(probes >= 1, "inference.lsh_probes must be >= 1, got ", probes);
  ELM_CHECK(max_candidates >= 1, "inference.lsh_max_candidates must be >= 1, got ", max_candidates);
  ELM_CHECK(rerank >= 1, "inference.lsh_rerank must be >= 1, got ", rerank);
}

SimilarityIndex::SimilarityIndex(const int32_t* tokens, const bool* valid, int64_t num_entries, int64_t entry_length,
                                 int64_t pad_id, int64_t first, const TokenEmbeddings& embeddings, LshOptions options)
    : tokens_(tokens),
      valid_(valid),
      num_entries_(num_entries),
      entry_length_(entry_length),
      pad_id_(pad_id),
      first_(first),
      embeddings_(&embeddings),
      options_(options) {
  const auto t0 = std::chrono::steady_clock::now();
  options_.validate();
  ELM_CHECK(embeddings.defined(), "similarity index: no embedding table");
  ELM_CHECK(0 <= first && first < num_entries, "similarity index: writable range [", first, ", ", num_entries,
            ") is empty");
  ELM_CHECK(num_entries - first < std::numeric_limits<int32_t>::max(), "similarity index: too many entries");
  const int64_t V = embeddings.vocab_size(), d = embeddings.dim(), L = entry_length;
  if (options_.bits == 0) options_.bits = auto_bits(num_entries - first);
  const int64_t T = options_.tables, B = options_.bits;
  width_ = T * B;

  for (int64_t i = 0; i < num_entries; ++i) {
    if (!valid[i]) continue;
    const int64_t bad = embeddings.first_bad_id(tokens + i * L, L, pad_id);
    ELM_CHECK(bad < 0, "bank entry ", i, ": token id ", bad, " is outside the vocabulary [0, ", V,
              ") of the embedding table");
  }

  // Hyperplanes [width, d], then every token's projections [V, width].
  std::vector<float> planes(static_cast<size_t>(width_ * d));
  std::mt19937_64 rng(options_.seed);
  for (float& p : planes) p = normal_draw(rng);
  projected_.resize(static_cast<size_t>(V * width_));
  at::parallel_for(0, V, 256, [&](int64_t b, int64_t e) {
    for (int64_t v = b; v < e; ++v) {
      const float* row = embeddings.row(v);
      for (int64_t r = 0; r < width_; ++r) projected_[v * width_ + r] = dot_product(row, &planes[r * d], d);
    }
  });

  // Centre: P * mu, mu the mean entry embedding over all valid entries. mu = sum_v w_v E[v] with
  // w_v = sum over entries of (occurrences of v) / (entry's token count), so P * mu = sum_v w_v P E[v].
  std::vector<double> weight(static_cast<size_t>(V), 0.0);
  int64_t counted = 0;
  for (int64_t i = 0; i < num_entries; ++i) {
    if (!valid[i]) continue;
    const int32_t* row = tokens + i * L;
    int64_t n = 0;
    for (int64_t j = 0; j < L; ++j) n += row[j] != pad_id;
    if (n == 0) continue;
    for (int64_t j = 0; j < L; ++j) {
      if (row[j] != pad_id) weight[row[j]] += 1.0 / static_cast<double>(n);
    }
    ++counted;
  }
  std::vector<double> centre(static_cast<size_t>(width_), 0.0);
  for (int64_t v = 0; v < V; ++v) {
    if (weight[v] == 0) continue;
    const float* pv = &projected_[v * width_];
    for (int64_t r = 0; r < width_; ++r) centre[r] += weight[v] * pv[r];
  }
  centre_.resize(static_cast<size_t>(width_));
  for (int64_t r = 0; r < width_; ++r) centre_[r] = counted ? static_cast<float>(centre[r] / counted) : 0.0f;

  // Codes and norms of the writable valid entries (independent per entry), then the buckets in
  // index order.
  templates_ = perturbation_templates(B, std::min<int64_t>(2 * options_.probes, int64_t{1} << B));
  const int64_t W = num_entries - first;
  buckets_.assign(static_cast<size_t>(T << B), {});
  codes_.assign(static_cast<size_t>(W * T), 0);
  slot_.assign(static_cast<size_t>(W * T), -1);
  indexed_.assign(static_cast<size_t>(W), 0);
  norms_.assign(static_cast<size_t>(W), 0.0f);
  token_scores_.assign(static_cast<size_t>(V), TokenScore{0, 0.0f});
  std::vector<uint8_t> usable(static_cast<size_t>(W), 0);
  std::vector<uint64_t> signatures(static_cast<size_t>(2 * W), 0);
  at::parallel_for(0, W, 1024, [&](int64_t b, int64_t e) {
    for (int64_t off = b; off < e; ++off) {
      const int64_t i = first + off;
      if (!valid[i]) continue;
      EntrySketch s = sketch(std::vector<int32_t>(tokens + i * L, tokens + (i + 1) * L));
      if (s.tokens == 0) continue;  // all padding: never selectable, never similar
      usable[off] = 1;
      norms_[off] = s.norm;
      std::copy(s.codes.begin(), s.codes.end(), codes_.begin() + off * T);
      signatures[2 * off] = s.signature[0];
      signatures[2 * off + 1] = s.signature[1];
    }
  });
  for (int64_t off = 0; off < W; ++off) {
    if (!usable[off]) continue;
    const Slot slot{static_cast<int32_t>(off), norms_[off], {signatures[2 * off], signatures[2 * off + 1]}};
    for (int64_t t = 0; t < T; ++t) {
      auto& bucket = buckets_[(t << B) | codes_[off * T + t]];
      slot_[off * T + t] = static_cast<int32_t>(bucket.size());
      bucket.push_back(slot);
    }
    indexed_[off] = 1;
  }
  build_seconds_ = seconds_since(t0);
}

EntrySketch SimilarityIndex::sketch(const std::vector<int32_t>& ids) const {
  ELM_CHECK(static_cast<int64_t>(ids.size()) == entry_length_, "similarity index: ", ids.size(),
            " ids for entries of ", entry_length_);
  const int64_t bad = embeddings_->first_bad_id(ids.data(), entry_length_, pad_id_);
  ELM_CHECK(bad < 0, "token id ", bad, " is outside the vocabulary [0, ", embeddings_->vocab_size(),
            ") of the embedding table");
  const int64_t T = options_.tables, B = options_.bits;
  for (int32_t id : ids) {  // rows scattered over [V, d] and [V, width]: overlap their misses
    if (id == pad_id_) continue;
    const float* e = embeddings_->row(id);
    for (int64_t k = 0; k < embeddings_->dim(); k += 16) __builtin_prefetch(e + k);
    const float* pv = &projected_[id * width_];
    for (int64_t r = 0; r < width_; r += 16) __builtin_prefetch(pv + r);
  }
  EntrySketch s;
  s.ids = ids;
  s.embedding.resize(static_cast<size_t>(embeddings_->dim()));
  s.tokens = embeddings_->mean_of(ids.data(), entry_length_, pad_id_, s.embedding.data());
  s.norm = std::sqrt(dot_product(s.embedding.data(), s.embedding.data(), embeddings_->dim()));
  s.codes.assign(static_cast<size_t>(T), 0);
  s.margins.assign(static_cast<size_t>(width_), 0.0f);
  if (s.tokens == 0) return s;
  std::vector<float> sum(static_cast<size_t>(width_), 0.0f);
  for (int32_t id : ids) {
    if (id == pad_id_) continue;
    const float* pv = &projected_[id * width_];
    for (int64_t r = 0; r < width_; ++r) sum[r] += pv[r];
  }
  const float n = static_cast<float>(s.tokens);
  for (int64_t t = 0; t < T; ++t) {
    uint32_t code = 0;
    for (int64_t b = 0; b < B; ++b) {
      const int64_t r = t * B + b;
      const float above = sum[r] - centre_[r] * n;  // n * (projection - centre)
      if (above > 0) {
        code |= uint32_t{1} << b;
        if (r < 128) s.signature[r / 64] |= uint64_t{1} << (r % 64);
      }
      s.margins[r] = std::abs(above) / n;
    }
    s.codes[t] = code;
  }
  return s;
}

std::vector<uint32_t> SimilarityIndex::perturbation_templates(int64_t bits, int64_t count) {
  // Sets of positions in a table's bits sorted by margin (0 = closest to its hyperplane), in
  // increasing order of the sum of (position + 1)^2, a stand-in for the expected squared margins
  // (multi-probe LSH, Lv et al. VLDB 2007): the shift/expand heap yields each set exactly once.
  // The empty set (the query's own bucket) comes first.
  std::vector<uint32_t> out{0u};
  using Set = std::tuple<int64_t, uint32_t, int32_t>;  // score, mask, last position
  std::priority_queue<Set, std::vector<Set>, std::greater<Set>> heap;
  heap.emplace(1, 1u, 0);
  while (static_cast<int64_t>(out.size()) < count && !heap.empty()) {
    const auto [score, mask, last] = heap.top();
    heap.pop();
    out.push_back(mask);
    if (last + 1 < bits) {
      const int64_t a = int64_t{last + 1} * (last + 1), b = int64_t{last + 2} * (last + 2);
      const uint32_t next = uint32_t{1} << (last + 1);
      heap.emplace(score - a + b, (mask & ~(uint32_t{1} << last)) | next, last + 1);  // shift
      heap.emplace(score + b, mask | next, last + 1);                                // expand
    }
  }
  return out;
}

void SimilarityIndex::begin_query() {
  if (++stamp_ == 0) {  // wrapped: clear the stamps once every 2^32 queries
    std::fill(token_scores_.begin(), token_scores_.end(), TokenScore{0, 0.0f});
    stamp_ = 1;
  }
}

float SimilarityIndex::token_score(int32_t id, const EntrySketch& query) {
  TokenScore& t = token_scores_[id];
  if (t.stamp != stamp_) {
    t.stamp = stamp_;
    t.value = dot_product(embeddings_->row(id), query.embedding.data(), embeddings_->dim());
  }
  return t.value;
}

void SimilarityIndex::prefetch_rows(const EntrySketch& query) {
  // Three rounds of independent misses instead of a chain of dependent ones: the candidates' rows
  // and norms, then the memo slots of their tokens, then the embedding rows of tokens not scored yet.
  for (int32_t off : rerank_) {
    __builtin_prefetch(tokens_ + (first_ + off) * entry_length_);
    __builtin_prefetch(&norms_[off]);
  }
  for (int32_t off : rerank_) {
    const int32_t* row = tokens_ + (first_ + off) * entry_length_;
    for (int64_t j = 0; j < entry_length_; ++j) {
      if (row[j] != pad_id_) __builtin_prefetch(&token_scores_[row[j]]);
    }
  }
  const int64_t line_floats = 16, d = embeddings_->dim();
  for (int32_t off : rerank_) {
    const int32_t* row = tokens_ + (first_ + off) * entry_length_;
    for (int64_t j = 0; j < entry_length_; ++j) {
      if (row[j] == pad_id_ || token_scores_[row[j]].stamp == stamp_) continue;
      const float* e = embeddings_->row(row[j]);
      for (int64_t k = 0; k < d; k += line_floats) __builtin_prefetch(e + k);
    }
  }
  (void)query;
}

double SimilarityIndex::exact_cosine(int64_t off, const EntrySketch& query) {
  const int32_t* row = tokens_ + (first_ + off) * entry_length_;
  float sum = 0;
  int64_t n = 0;
  for (int64_t j = 0; j < entry_length_; ++j) {
    if (row[j] == pad_id_) continue;
    sum += token_score(row[j], query);
    ++n;
  }
  const double denom = static_cast<double>(query.norm) * norms_[off];
  if (n == 0 || denom <= 0) return 0.0;
  return static_cast<double>(sum / static_cast<float>(n)) / denom;
}

double SimilarityIndex::cosine(const EntrySketch& query, int64_t entry) {
  ELM_CHECK(contains(entry), "similarity index: entry ", entry, " is not indexed");
  begin_query();
  return exact_cosine(offset(entry), query);
}

SimilarityMatch SimilarityIndex::nearest(const EntrySketch& query) {
  SimilarityMatch best;
  if (query.tokens == 0) return best;
  begin_query();
  const int64_t T = options_.tables, B = options_.bits, P = options_.probes;
  // tables * probes buckets in all: every table's own bucket, then the perturbations with the
  // smallest summed squared margins over all tables together (a table whose query lies close to
  // its hyperplanes gets more probes).
  probes_.clear();
  int32_t order[32];
  float margin2[32];
  for (int64_t t = 0; t < T; ++t) {
    const float* m = &query.margins[t * B];
    for (int32_t b = 0; b < B; ++b) {  // insertion sort of the bits by margin (B <= 20)
      int32_t k = b;
      while (k > 0 && m[order[k - 1]] > m[b]) {
        order[k] = order[k - 1];
        --k;
      }
      order[k] = b;
    }
    for (int32_t k = 0; k < B; ++k) margin2[k] = m[order[k]] * m[order[k]];
    for (uint32_t mask : templates_) {
      float score = 0;
      uint32_t code = query.codes[t];
      for (uint32_t rest = mask; rest; rest &= rest - 1) {
        const int k = __builtin_ctz(rest);
        score += margin2[k];
        code ^= uint32_t{1} << order[k];
      }
      probes_.push_back({score, static_cast<int32_t>(t), code});
    }
  }
  const size_t visit = std::min(probes_.size(), static_cast<size_t>(T * P));
  std::partial_sort(probes_.begin(), probes_.begin() + static_cast<std::ptrdiff_t>(visit), probes_.end(),
                    [](const Probe& a, const Probe& b) {
                      if (a.score != b.score) return a.score < b.score;
                      if (a.table != b.table) return a.table < b.table;
                      return a.code < b.code;
                    });

  // Gather bucket slots keyed by (Hamming distance of the signatures, offset), with a histogram of
  // the distances; an entry found in several tables appears once per table with the same key.
  // The buckets lie at random places in a large index: prefetch their headers, then their first
  // slots, so the misses overlap instead of following one another.
  keys_.clear();
  uint32_t histogram[129] = {0};
  const uint64_t q0 = query.signature[0], q1 = query.signature[1];
  auto bucket_of = [&](size_t p) -> const std::vector<Slot>& {
    return buckets_[(int64_t{probes_[p].table} << B) | probes_[p].code];
  };
  for (size_t p = 0; p < visit; ++p) __builtin_prefetch(&bucket_of(p));
  size_t budget = static_cast<size_t>(options_.max_candidates);
  for (size_t p = 0; p < visit && budget > 0; ++p) {  // every line of the slots that will be read
    const auto& bucket = bucket_of(p);
    const size_t n = std::min(bucket.size(), budget);
    budget -= n;
    const char* first = reinterpret_cast<const char*>(bucket.data());
    for (size_t byte = 0; byte < n * sizeof(Slot); byte += 64) __builtin_prefetch(first + byte);
  }
  keys_.resize(static_cast<size_t>(options_.max_candidates));
  size_t gathered = 0;
  for (size_t p = 0; p < visit && gathered < keys_.size(); ++p) {
    const auto& bucket = bucket_of(p);
    const size_t take = std::min(bucket.size(), keys_.size() - gathered);
    score_slots(bucket.data(), take, q0, q1, keys_.data() + gathered, histogram);
    gathered += take;
  }
  keys_.resize(gathered);
  best.candidates = static_cast<int64_t>(gathered);
  // The `rerank` nearest distinct entries: each appears at most `tables` times, so the keys at or
  // below the distance that `rerank * tables` keys reach hold them.
  const uint64_t want = static_cast<uint64_t>(options_.rerank * T);
  uint64_t cutoff = 0, below = 0;
  for (; cutoff < 128 && below + histogram[cutoff] < want; ++cutoff) below += histogram[cutoff];
  size_t head = 0;
  for (uint64_t key : keys_) {
    if ((key >> 32) <= cutoff) keys_[head++] = key;
  }
  std::sort(keys_.begin(), keys_.begin() + static_cast<std::ptrdiff_t>(head));
  rerank_.clear();
  for (size_t k = 0; k < head && static_cast<int64_t>(rerank_.size()) < options_.rerank; ++k) {
    if (k > 0 && keys_[k] == keys_[k - 1]) continue;
    rerank_.push_back(static_cast<int32_t>(keys_[k] & 0xffffffffu));
  }
  prefetch_rows(query);
  for (int32_t off : rerank_) {
    const double c = exact_cosine(off, query);
    ++best.reranked;
    const int64_t entry = first_ + off;
    if (best.index < 0 || c > best.cosine || (c == best.cosine && entry < best.index)) {
      best.index = entry;
      best.cosine = c;
    }
  }
  return best;
}

SimilarityMatch SimilarityIndex::nearest_exact(const EntrySketch& query) {
  SimilarityMatch best;
  if (query.tokens == 0) return best;
  begin_query();
  const int64_t W = num_entries_ - first_;
  for (int64_t off = 0; off < W; ++off) {
    if (!indexed_[off]) continue;
    const double c = exact_cosine(off, query);
    ++best.candidates;
    ++best.reranked;
    if (best.index < 0 || c > best.cosine) {  // ascending order: ties keep the lower index
      best.index = first_ + off;
      best.cosine = c;
    }
  }
  return best;
}

bool SimilarityIndex::contains(int64_t entry) const {
  return entry >= first_ && entry < num_entries_ && indexed_[offset(entry)];
}

void SimilarityIndex::remove(int64_t entry) {
  if (!contains(entry)) return;
  const int64_t off = offset(entry), T = options_.tables, B = options_.bits;
  for (int64_t t = 0; t < T; ++t) __builtin_prefetch(&buckets_[(t << B) | codes_[off * T + t]]);
  for (int64_t t = 0; t < T; ++t) {
    const auto& bucket = buckets_[(t << B) | codes_[off * T + t]];
    __builtin_prefetch(&bucket[slot_[off * T + t]]);
    __builtin_prefetch(&bucket.back());
  }
  for (int64_t t = 0; t < T; ++t) {
    auto& bucket = buckets_[(t << B) | codes_[off * T + t]];
    const int32_t slot = slot_[off * T + t];
    const Slot moved = bucket.back();
    bucket[slot] = moved;
    slot_[moved.off * T + t] = slot;
    bucket.pop_back();
    slot_[off * T + t] = -1;
  }
  indexed_[off] = 0;
}

void SimilarityIndex::insert(int64_t entry, const EntrySketch& sketch) {
  ELM_CHECK(entry >= first_ && entry < num_entries_, "similarity index: entry ", entry, " is outside [", first_,
            ", ", num_entries_, ")");
  remove(entry);
  if (sketch.tokens == 0) return;
  const int64_t off = offset(entry), T = options_.tables, B = options_.bits;
  const Slot slot{static_cast<int32_t>(off), sketch.norm, {sketch.signature[0], sketch.signature[1]}};
  for (int64_t t = 0; t < T; ++t) __builtin_prefetch(&buckets_[(t << B) | sketch.codes[t]]);
  for (int64_t t = 0; t < T; ++t) {
    const auto& bucket = buckets_[(t << B) | sketch.codes[t]];
    __builtin_prefetch(bucket.data() + bucket.size(), 1);
  }
  for (int64_t t = 0; t < T; ++t) {
    codes_[off * T + t] = sketch.codes[t];
    auto& bucket = buckets_[(t << B) | sketch.codes[t]];
    slot_[off * T + t] = static_cast<int32_t>(bucket.size());
    bucket.push_back(slot);
  }
  norms_[off] = sketch.norm;
  indexed_[off] = 1;
}

SimilarityIndexStats SimilarityIndex::stats() const {
  SimilarityIndexStats s;
  for (uint8_t x : indexed_) s.entries += x;
  int64_t total = 0;
  for (const auto& b : buckets_) {
    if (b.empty()) continue;
    ++s.buckets_used;
    total += static_cast<int64_t>(b.size());
    s.largest_bucket = std::max<int64_t>(s.largest_bucket, static_cast<int64_t>(b.size()));
  }
  s.mean_bucket = s.buckets_used ? static_cast<double>(total) / s.buckets_used : 0.0;
  s.build_seconds = build_seconds_;
  return s;
}

}  // namespace elm::infer
