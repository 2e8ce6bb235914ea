#pragma once
// The bank updater of the inference path (ARCHITECTURE 6; docs/bank-updates.md): writes new facts
// into the memory bank by a replacement policy, never touching the first freeze_ratio of entries,
// in O(facts x (L d + log N + LSH bucket work)) per update, never a scan of the bank.
//
//   infer::BankUpdater updater(bank, &reader, tokenizer, backbone.weights().embed_tokens,
//                              infer::BankUpdaterOptions::from_config(cfg));
//   auto report = updater.apply(infer::split_facts(text));   // report.writes: index, old/new text
//   updater.record_retrievals(selected_entries);              // for lru and importance
//
// Determinism: two updaters built on equal banks with equal options, given the same sequence of
// apply()/submit()/record_retrievals() calls, end in identical states and banks (replicated banks
// on several MPI ranks stay identical this way; state_fingerprint() compares them).
// Not thread-safe; the model must not read the bank while an update runs.
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "infer/entry_order.h"
#include "infer/similarity_index.h"
#include "infer/token_embeddings.h"
#include "infer/update_policy.h"
#include "memory/bank.h"

namespace elm {
class Config;
}
namespace elm::text {
class Tokenizer;
}

namespace elm::infer {

struct BankUpdaterOptions {
  UpdatePolicy policy = UpdatePolicy::kFifo;
  double freeze_ratio = 0.2;          // entries [0, floor(freeze_ratio * N)) never change
  double similarity_threshold = 0.9;  // similarity: replace the most similar entry at or above this cosine, else the oldest
  uint64_t seed = 0;                  // random policy draws, LSH hyperplanes
  int64_t route_candidates = 8;       // route: how many of the router's writable candidates may be used
  int64_t min_fact_chars = 10;        // apply_text: facts longer than this many characters
  int64_t update_interval = 1;        // submit(): write the queued facts on every k-th call
  LshOptions lsh;                     // similarity index (its seed is `seed`)

  // inference.update_policy, inference.similarity_threshold, inference.route_candidates,
  // inference.min_fact_chars, inference.update_interval, inference.lsh_*, model.freeze_ratio,
  // runtime.seed.
  static BankUpdaterOptions from_config(const Config& config);
  void validate() const;  // elm::Error naming the option and value
};

struct EntryWrite {
  int64_t index = -1;       // bank entry written
  int64_t fact = -1;        // position of the fact in the call's input
  std::string old_text, new_text;
  bool old_valid = false;
  std::vector<int32_t> old_ids;  // the L ids the entry held before (BankChecksum::apply follows the write)
  std::vector<int32_t> ids;      // the L ids written
  // Why this entry: "ring", "least recently used", "random", "similar (cosine 0.93)",
  // "oldest (best cosine 0.41 < 0.9)", "lowest retrieval count (3)",
  // "route candidate 2 (invalid)", "route candidate 0 (least recently written)", ...
  std::string reason;
  double similarity = std::numeric_limits<double>::quiet_NaN();  // similarity policy: best cosine found
  bool truncated = false;    // the fact had more than L tokens
  int32_t token_count = 0;   // tokens of the fact before truncation
};

struct UpdateReport {
  std::string policy;
  std::vector<EntryWrite> writes;     // in the order written
  std::vector<std::string> skipped;   // "fact 2: no tokens", ...
  int64_t pending = 0;                // submit(): facts still queued after this call
  double seconds = 0;                 // wall time of the call
  nlohmann::json to_json() const;
};

// A fact's router candidates (bank entries, best first) for its ids (the non-padding ids written).
// make_router_route (route_query.h) gives the real one from an ExplicitLM.
using RouteFunction = std::function<std::vector<int64_t>(const std::vector<int32_t>& fact_ids)>;

class BankUpdater {
 public:
  // bank: the authoritative copy; its tokens ([N, L] int32, contiguous CPU), valid, texts and
  // token_counts are updated in place (the tensors must stay the same objects). reader (optional):
  // the LocalBankReader the model reads, mirrored with write_entry. embedding_table [V, d] (the
  // frozen backbone's embed_tokens, any float dtype): needed by the similarity policy, ignored by the
  // others (may be undefined). route: needed by the route policy. Construction is O(N) (plus the
  // LSH index for similarity, O(V d tables bits + N L tables bits)).
  BankUpdater(memory::MemoryBank& bank, memory::LocalBankReader* reader, const text::Tokenizer& tokenizer,
              torch::Tensor embedding_table, BankUpdaterOptions options, RouteFunction route = {});
  BankUpdater(const BankUpdater&) = delete;  // holds references into itself (the index reads embeddings_)
  BankUpdater& operator=(const BankUpdater&) = delete;

  // Writes the facts in order, one entry each. A later fact of the same call may replace an
  // earlier one's entry when the policy picks it (fifo only after a full turn of the ring; similarity
  // when the earlier fact is the most similar). Facts with no tokens or a NUL byte are skipped (see
  // report.skipped). An error (a route candidate outside the bank, a token outside the embedding)
  // stops the call; the facts before it stay written.
  UpdateReport apply(const std::vector<std::string>& facts);
  // split_facts(text, min_fact_chars), then apply().
  UpdateReport apply_text(const std::string& text);
  // Queues the facts; every update_interval-th call writes everything queued (report.pending: what
  // is still queued). flush() writes the queue now.
  UpdateReport submit(const std::vector<std::string>& facts);
  UpdateReport flush();

  // Entries the model selected, in order (-1 = nothing selected, ignored; anything else outside
  // [0, N) is an error and nothing is recorded). Counts every entry; lru and importance use the
  // writable ones.
  void record_retrievals(const std::vector<int64_t>& indices);

  int64_t num_entries() const { return num_entries_; }
  int64_t frozen_end() const { return frozen_end_; }  // first writable entry
  const BankUpdaterOptions& options() const { return options_; }
  uint64_t retrieval_count(int64_t index) const;      // since construction or the entry's last write
  int64_t next_ring() const { return ring_; }         // fifo's next entry
  int64_t oldest() const { return written_.front(); } // least recently written writable entry
  int64_t least_recently_used() const { return used_.front(); }
  std::vector<int64_t> lru_order() const { return used_.order(); }      // O(N), least recent first
  std::vector<int64_t> write_order() const { return written_.order(); } // O(N), oldest first
  const SimilarityIndex* similarity_index() const { return index_.get(); }
  SimilarityIndex* similarity_index() { return index_.get(); }
  // FNV-1a over the bank rows, texts, token counts and every piece of policy state (O(N)): equal on
  // replicas that saw the same calls.
  uint64_t state_fingerprint() const;

 private:
  struct Choice {
    int64_t index;
    std::string reason;
    double similarity = std::numeric_limits<double>::quiet_NaN();
  };
  void check_bank_unchanged() const;
  bool writable(int64_t i) const { return i >= frozen_end_ && i < num_entries_; }
  Choice choose(const std::vector<int32_t>& ids, int64_t fact, const EntrySketch* sketch);
  Choice choose_route(const std::vector<int32_t>& ids, int64_t fact);
  int64_t draw_random();
  void write(int64_t index, const std::string& text, const std::vector<int32_t>& ids, int32_t token_count,
             const EntrySketch* sketch);

  memory::MemoryBank& bank_;
  memory::LocalBankReader* reader_;
  const text::Tokenizer& tokenizer_;
  BankUpdaterOptions options_;
  RouteFunction route_;
  int64_t num_entries_, entry_length_, pad_id_, frozen_end_;
  int32_t* tokens_;  // bank_.tokens's data, checked on every call
  bool* valid_;
  TokenEmbeddings embeddings_;
  std::unique_ptr<SimilarityIndex> index_;
  // Write age of every entry: never-written entries get 1.. in construction order (invalid writable
  // entries first, then valid ones, each by index), each write the next tick of clock_.
  std::vector<uint64_t> age_;
  uint64_t clock_ = 0;
  std::vector<uint64_t> retrievals_;  // [N]
  RecencyList written_, used_;
  std::unique_ptr<ImportanceHeap> importance_;
  int64_t ring_;
  std::mt19937_64 rng_;
  std::vector<std::string> queue_;
  int64_t submits_ = 0;
};

}  // namespace elm::infer
