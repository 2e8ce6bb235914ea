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

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

void LshOptions::validate() const {
  ELM_CHECK(tables >= 1 && tables <= 64, "inference.lsh_tables must be in [1, 64], got ", tables);
  ELM_CHECK(bits >= 1 && bits <= kMaxBits, "inference.lsh_bits must be in [1, ", kMaxBits, "], got ", bits);
  ELM_CHECK(probes >= 1 && probes <= (int64_t{1} << bits), "inference.lsh_probes must be in [1, 2^lsh_bits = ",
            int64_t{1} << bits, "], got ", probes);
  ELM_CHECK(max_candidates >= 1, "inference.lsh_max_candidates must be >= 1, got ", max_candidates);
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
  const int64_t W = num_entries - first;
  buckets_.assign(static_cast<size_t>(T << B), {});
  codes_.assign(static_cast<size_t>(W * T), 0);
  slot_.assign(static_cast<size_t>(W * T), -1);
  indexed_.assign(static_cast<size_t>(W), 0);
  norms_.assign(static_cast<size_t>(W), 0.0f);
  seen_.assign(static_cast<size_t>(W), 0);
  token_stamp_.assign(static_cast<size_t>(V), 0);
  token_value_.assign(static_cast<size_t>(V), 0.0f);
  std::vector<uint8_t> usable(static_cast<size_t>(W), 0);
  at::parallel_for(0, W, 1024, [&](int64_t b, int64_t e) {
    for (int64_t off = b; off < e; ++off) {
      const int64_t i = first + off;
      if (!valid[i]) continue;
      EntrySketch s = sketch(std::vector<int32_t>(tokens + i * L, tokens + (i + 1) * L));
      if (s.tokens == 0) continue;  // all padding: never selectable, never similar
      usable[off] = 1;
      norms_[off] = s.norm;
      std::copy(s.codes.begin(), s.codes.end(), codes_.begin() + off * T);
    }
  });
  for (int64_t off = 0; off < W; ++off) {
    if (!usable[off]) continue;
    for (int64_t t = 0; t < T; ++t) {
      auto& bucket = buckets_[(t << B) | codes_[off * T + t]];
      slot_[off * T + t] = static_cast<int32_t>(bucket.size());
      bucket.push_back(static_cast<int32_t>(off));
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
      if (above > 0) code |= uint32_t{1} << b;
      s.margins[r] = std::abs(above) / n;
    }
    s.codes[t] = code;
  }
  return s;
}

std::vector<uint32_t> SimilarityIndex::probe_codes(const EntrySketch& query, int64_t table) const {
  // Perturbation sets over the bits sorted by margin, generated in increasing order of the sum of
  // squared margins with the shift/expand heap of multi-probe LSH (Lv et al., VLDB 2007): each set
  // is produced exactly once.
  const int64_t B = options_.bits;
  std::vector<int32_t> order(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) order[b] = static_cast<int32_t>(b);
  const float* m = &query.margins[table * B];
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return m[a] < m[b]; });
  std::vector<double> z2(static_cast<size_t>(B));
  for (int64_t p = 0; p < B; ++p) z2[p] = static_cast<double>(m[order[p]]) * m[order[p]];

  const uint32_t base = query.codes[table];
  std::vector<uint32_t> out{base};
  using Set = std::tuple<double, uint32_t, int32_t>;  // score, mask over sorted positions, last position
  std::priority_queue<Set, std::vector<Set>, std::greater<Set>> heap;
  heap.emplace(z2[0], 1u, 0);
  while (static_cast<int64_t>(out.size()) < options_.probes && !heap.empty()) {
    const auto [score, mask, last] = heap.top();
    heap.pop();
    uint32_t code = base;
    for (int64_t p = 0; p < B; ++p) {
      if (mask >> p & 1u) code ^= uint32_t{1} << order[p];
    }
    out.push_back(code);
    if (last + 1 < B) {
      const uint32_t next = uint32_t{1} << (last + 1);
      heap.emplace(score - z2[last] + z2[last + 1], (mask & ~(uint32_t{1} << last)) | next, last + 1);  // shift
      heap.emplace(score + z2[last + 1], mask | next, last + 1);                                      // expand
    }
  }
  return out;
}

void SimilarityIndex::begin_query() {
  if (++stamp_ == 0) {  // wrapped: clear the stamps once every 2^32 queries
    std::fill(seen_.begin(), seen_.end(), 0);
    std::fill(token_stamp_.begin(), token_stamp_.end(), 0);
    stamp_ = 1;
  }
}

float SimilarityIndex::token_score(int32_t id, const EntrySketch& query) {
  if (token_stamp_[id] != stamp_) {
    token_stamp_[id] = stamp_;
    token_value_[id] = dot_product(embeddings_->row(id), query.embedding.data(), embeddings_->dim());
  }
  return token_value_[id];
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
  const int64_t T = options_.tables, B = options_.bits;
  std::vector<std::vector<uint32_t>> probes(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) probes[t] = probe_codes(query, t);
  for (int64_t r = 0; r < options_.probes; ++r) {
    for (int64_t t = 0; t < T; ++t) {
      if (r >= static_cast<int64_t>(probes[t].size())) continue;
      for (int32_t off : buckets_[(t << B) | probes[t][r]]) {
        if (seen_[off] == stamp_) continue;
        seen_[off] = stamp_;
        const double c = exact_cosine(off, query);
        const int64_t entry = first_ + off;
        if (best.index < 0 || c > best.cosine || (c == best.cosine && entry < best.index)) {
          best.index = entry;
          best.cosine = c;
        }
        if (++best.candidates >= options_.max_candidates) return best;
      }
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
  for (int64_t t = 0; t < T; ++t) {
    auto& bucket = buckets_[(t << B) | codes_[off * T + t]];
    const int32_t slot = slot_[off * T + t];
    const int32_t moved = bucket.back();
    bucket[slot] = moved;
    slot_[moved * T + t] = slot;
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
  for (int64_t t = 0; t < T; ++t) {
    codes_[off * T + t] = sketch.codes[t];
    auto& bucket = buckets_[(t << B) | sketch.codes[t]];
    slot_[off * T + t] = static_cast<int32_t>(bucket.size());
    bucket.push_back(static_cast<int32_t>(off));
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
