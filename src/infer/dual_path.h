#pragma once
// The dual path (ARCHITECTURE 6). While the main path generates a round's answers, the auxiliary
// path, on a worker thread, turns the round's inputs into facts (a compressor such as LLMLingua-2,
// then the sentence split). When the round's generation is done, the facts of every rank are
// gathered in one order (rank, then request, then sentence) together with the entries each rank's
// generation selected, and every rank hands the same sequence to its own BankUpdater: the replicas
// of the bank stay identical, which a checksum of the bank, compared across ranks after each
// write, proves (a mismatch is an error naming the ranks). The checksum follows the writes
// (bank_checksum.h: O(writes), not O(N)); every full_check_every rounds and at finish() each rank
// also recomputes it from its whole bank, which catches a change made outside the updater.
// The updater writes what it was handed
// every inference.update_interval-th round (BankUpdater::submit), always before the next round
// starts, so the next answer can use it; finish() writes what is still queued.
//
//   DualPath dual(extractor, updater, bank, options);
//   memory_lm.set_observer(dual.observer());        // retrieval counts for lru / importance
//   serve(memory_lm, requests, serve_options, comm, &tokenizer, &dual);
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "infer/bank_checksum.h"
#include "infer/bank_updater.h"
#include "infer/causal_lm.h"
#include "infer/compressor.h"
#include "infer/serving.h"
#include "memory/bank.h"

namespace elm::infer {

// What the auxiliary path makes of one input text.
struct Extraction {
  std::string compressed;          // the compressor's output
  std::vector<std::string> facts;  // its sentences that are facts (fact_split.h)
  double seconds = 0;
};

// text -> facts: compress, then split into sentences of more than min_chars characters
// (fact_split.h); questions (sentences ending in '?') are not facts and are dropped unless
// keep_questions. The compressor is shared and must be callable from the worker thread.
using FactExtractor = std::function<Extraction(const std::string& text)>;
FactExtractor make_fact_extractor(std::shared_ptr<const Compressor> compressor, int64_t min_chars,
                                  bool keep_questions = false);

struct DualPathOptions {
  bool verify_replicas = true;  // compare bank checksums across ranks after each write
  // With verify_replicas: every this many rounds (and at finish()), recompute the checksum from the
  // whole bank (O(N L)) on every rank and compare it with the one the writes give and across
  // ranks; 0 = only at finish().
  int64_t full_check_every = 64;
};

class DualPath final : public RoundParticipant {
 public:
  // `updater` writes into `bank` (the same bank the model reads through the updater's reader).
  DualPath(FactExtractor extract, BankUpdater& updater, const memory::MemoryBank& bank, DualPathOptions options);
  ~DualPath() override;  // waits for a running extraction
  DualPath(const DualPath&) = delete;
  DualPath& operator=(const DualPath&) = delete;

  // For MemoryLM::set_observer: collects the entries generation selected (this rank, this round).
  MemoryObserver observer();

  void begin_round(int64_t round, const std::vector<const Request*>& mine) override;
  nlohmann::json end_round(int64_t round, MPI_Comm comm) override;
  nlohmann::json ingest_of(int64_t index) const override;
  nlohmann::json finish(MPI_Comm comm) override;

  // Every update applied so far (the updater's reports plus round and checksum), in order.
  const std::vector<nlohmann::json>& updates() const { return updates_; }
  std::string last_checksum() const { return checksum_.text(); }
  int64_t full_checks() const { return full_checks_; }

 private:
  // Gathers this round's facts and selections from every rank into the pending lists (collective).
  void exchange(MPI_Comm comm);
  // Hands the gathered lists to the updater (submit, or flush at the end) and, when it wrote,
  // verifies the replicas (collective). Returns the update's report (null when nothing was written).
  nlohmann::json update(int64_t round, bool flush, MPI_Comm comm);
  // Recomputes the checksum from the bank and checks it against the tracked one on every rank and
  // across ranks (collective; every rank throws the same error naming the rank).
  void full_check(const std::string& when, MPI_Comm comm);

  FactExtractor extract_;
  BankUpdater& updater_;
  const memory::MemoryBank& bank_;
  DualPathOptions options_;
  std::future<std::vector<std::pair<int64_t, Extraction>>> running_;
  std::map<int64_t, Extraction> extracted_;  // this rank's requests of the round just ended
  std::vector<int64_t> selected_;            // this rank's selections since the last exchange
  std::vector<std::string> gathered_facts_;   // every rank's facts of this round, in order
  std::vector<int64_t> gathered_selected_;
  std::vector<nlohmann::json> updates_;
  BankChecksum checksum_;  // of bank_, followed through every write
  int64_t rounds_ = 0, full_checks_ = 0;
  double extract_seconds_ = 0, wait_seconds_ = 0;
};

}  // namespace elm::infer
