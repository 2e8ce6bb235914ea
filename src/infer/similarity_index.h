#pragma once
// The similarity policy's index (docs/bank-updates.md, "The LSH index"): finds, for a fact, the
// writable valid bank entry whose candidate embedding (mean of its tokens' frozen embeddings) has
// the highest cosine with the fact's, without scanning the bank.
//
// Random-hyperplane LSH with `tables` tables of `bits` bits over the *centred* embeddings: a
// bank's entries sit in a narrow cone (they share template words and the embedding's common
// direction), so each hyperplane test is sign(p . (e - mu)) with mu the mean entry embedding of the
// bank when the index is built. Hashing is linear before the sign, so P * E is computed once for
// the whole vocabulary ([V, tables*bits] floats) and an entry's projection is the mean of its
// tokens' projected rows: building costs O(V d tables bits + N L tables bits), not O(N d tables
// bits), and no [N, d] matrix is kept (d is 2560 in production).
//
// A query (1) visits tables * probes buckets: each table's own bucket, then the buckets most likely
// to hold its neighbours over all tables together (multi-probe LSH: flipping the bits whose
// projections lie closest to their hyperplane, in order of the summed squared margins), reading at
// most `max_candidates` bucket slots; (2) ranks them by the Hamming distance between their
// signature (the first 128 hyperplane bits, stored in the bucket slot, so this pass reads memory
// sequentially) and the query's; (3) computes the exact cosine of the `rerank` closest distinct
// entries and returns the best. The exact cosine needs no stored embedding:
// cos(f, x) = mean_j (E[x_j] . e_f) / (|e_f| |e_x|), with E[v] . e_f computed once per distinct
// token per query and |e_x| kept per entry.
//
// Everything is deterministic: hyperplanes from std::mt19937_64 with our own Gaussian mapping,
// fixed summation orders, bucket contents in insertion order, ties to the lower index.
// Not thread-safe (queries use scratch buffers).
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "infer/token_embeddings.h"

namespace elm::infer {

struct LshOptions {
  int64_t tables = 12;
  int64_t bits = 0;               // hyperplanes per table; 0 = auto_bits(writable entries)
  int64_t probes = 4;             // tables * probes buckets visited per query, each table's own included
  int64_t max_candidates = 2048;  // bucket slots read per query at most (ranked by signature distance)
  int64_t rerank = 8;             // entries whose exact cosine is computed per query
  uint64_t seed = 0;              // hyperplanes
  void validate() const;          // elm::Error naming the option
};

// round(log2(writable / 16)) in [1, 20]: about 16 entries per bucket in a full bank (16 for 2^20
// entries with freeze_ratio 0.2).
int64_t auto_bits(int64_t writable);

struct SimilarityMatch {
  int64_t index = -1;  // -1: no indexed entry was found
  double cosine = std::numeric_limits<double>::quiet_NaN();
  int64_t candidates = 0;  // bucket slots read (nearest) or entries scanned (nearest_exact)
  int64_t reranked = 0;    // entries whose exact cosine was computed
};

// One entry's ids with everything the index derives from them; computed once per fact and used to
// search and then to insert the fact where it is written.
struct EntrySketch {
  std::vector<int32_t> ids;      // L ids (pad after the end)
  int64_t tokens = 0;            // ids other than the pad id
  std::vector<float> embedding;  // [d] mean token embedding (zeros when tokens == 0)
  float norm = 0;                // |embedding|
  std::vector<uint32_t> codes;   // [tables] bucket of each table
  std::vector<float> margins;    // [tables * bits] |projection - centre| per hyperplane
  uint64_t signature[2] = {0, 0};  // hyperplane bits 0..127 (table-major), for the Hamming ranking
};

struct SimilarityIndexStats {
  int64_t entries = 0;         // indexed entries (valid, writable)
  int64_t buckets_used = 0;    // non-empty buckets over all tables
  int64_t largest_bucket = 0;
  double mean_bucket = 0;      // mean size of a non-empty bucket
  double build_seconds = 0;
};

class SimilarityIndex {
 public:
  // `tokens` [N, L] int32 and `valid` [N] are the bank's tables, read through these pointers on
  // every call (the owner keeps them alive and writes them in place, then calls remove/insert).
  // Indexes the valid entries of [first, N); the centre is the mean over all valid entries. Every
  // valid entry's ids must lie in the embedding's vocabulary (an error names the entry and id).
  SimilarityIndex(const int32_t* tokens, const bool* valid, int64_t num_entries, int64_t entry_length,
                  int64_t pad_id, int64_t first, const TokenEmbeddings& embeddings, LshOptions options);

  // ids: exactly L ids, each in the vocabulary or the pad id (checked).
  EntrySketch sketch(const std::vector<int32_t>& ids) const;

  // The best indexed entry among the LSH candidates (highest cosine, ties to the lower index).
  SimilarityMatch nearest(const EntrySketch& query);
  // The same cosine over every indexed entry (O(N L)): the exact answer nearest() approximates.
  SimilarityMatch nearest_exact(const EntrySketch& query);
  // The cosine nearest() and nearest_exact() rank by, for one entry's current row.
  double cosine(const EntrySketch& query, int64_t entry);

  bool contains(int64_t entry) const;
  void remove(int64_t entry);                               // no-op when not indexed
  void insert(int64_t entry, const EntrySketch& sketch);    // the entry's row now holds sketch.ids

  const LshOptions& options() const { return options_; }  // bits resolved when it was 0
  SimilarityIndexStats stats() const;  // O(buckets)

 private:
  int64_t offset(int64_t entry) const { return entry - first_; }
  struct Slot {  // one entry in one bucket
    int32_t off;
    float norm;
    uint64_t signature[2];
  };
  void begin_query();
  float token_score(int32_t id, const EntrySketch& query);  // E[id] . e_f, memoised per query
  double exact_cosine(int64_t off, const EntrySketch& query);
  void prefetch_rows(const EntrySketch& query);  // for the entries in rerank_
  // The first `count` perturbation sets of a table's bits (masks over the bits sorted by margin).
  static std::vector<uint32_t> perturbation_templates(int64_t bits, int64_t count);

  const int32_t* tokens_;
  const bool* valid_;
  int64_t num_entries_, entry_length_, pad_id_, first_;
  const TokenEmbeddings* embeddings_;
  LshOptions options_;
  int64_t width_ = 0;                  // tables * bits
  std::vector<float> projected_;       // [V, width]: P * E^T, row per token
  std::vector<float> centre_;          // [width]: P * mu
  std::vector<std::vector<Slot>> buckets_;  // [tables << bits]
  std::vector<uint32_t> codes_;        // [(N - first) * tables]
  std::vector<int32_t> slot_;          // [(N - first) * tables] position in its bucket
  std::vector<uint8_t> indexed_;       // [N - first]
  std::vector<float> norms_;           // [N - first] |e_x|
  // Per-query scratch: a token's score is valid for this query when its stamp matches.
  struct TokenScore {
    uint32_t stamp;
    float value;
  };
  struct Probe {
    float score;
    int32_t table;
    uint32_t code;
  };
  std::vector<uint32_t> templates_;  // perturbation_templates(bits, min(2 probes, 2^bits))
  std::vector<Probe> probes_;        // per-query scratch
  std::vector<int32_t> rerank_;      // per-query scratch: offsets to compute exactly
  uint32_t stamp_ = 0;
  std::vector<TokenScore> token_scores_;  // [V]
  std::vector<uint64_t> keys_;            // gathered (Hamming distance << 32 | offset)
  double build_seconds_ = 0;
};

}  // namespace elm::infer
