#include "infer/dual_path.h"

#include <chrono>

#ifdef ELM_HAVE_OPENMP
#include <omp.h>
#endif

#include "core/clock.h"
#include "core/error.h"
#include "core/logging.h"
#include "dist/host_collectives.h"
#include "infer/fact_split.h"

namespace elm::infer {

FactExtractor make_fact_extractor(std::shared_ptr<const Compressor> compressor, int64_t min_chars,
                                  bool keep_questions) {
  ELM_CHECK(compressor != nullptr, "dual path: no compressor");
  return [compressor, min_chars, keep_questions](const std::string& text) {
    const auto start = std::chrono::steady_clock::now();
    Extraction e;
    e.compressed = compressor->compress(text).text;
    for (auto& sentence : split_facts(e.compressed, min_chars)) {
      if (!keep_questions && sentence.back() == '?') continue;
      e.facts.push_back(std::move(sentence));
    }
    e.seconds = seconds_since(start);
    return e;
  };
}

DualPath::DualPath(FactExtractor extract, BankUpdater& updater, const memory::MemoryBank& bank,
                   DualPathOptions options)
    : extract_(std::move(extract)), updater_(updater), bank_(bank), options_(options) {
  ELM_CHECK(options_.full_check_every >= 0, "inference.verify_full_every must be >= 0, got ",
            options_.full_check_every);
  checksum_ = BankChecksum::of(bank_);
}

DualPath::~DualPath() {
  if (running_.valid()) running_.wait();
}

MemoryObserver DualPath::observer() {
  return [this](const std::vector<memory::MemoryLayerOutput>& layers) {
    auto entries = selected_entries(layers);
    selected_.insert(selected_.end(), entries.begin(), entries.end());
  };
}

void DualPath::begin_round(int64_t round, const std::vector<const Request*>& mine) {
  ELM_CHECK(!running_.valid(), "dual path: round ", round, " began before the previous one ended");
  std::vector<std::pair<int64_t, std::string>> inputs;
  for (const Request* r : mine) {
    if (!r->ingest.empty()) inputs.emplace_back(r->index, r->ingest);
  }
  // The worker only reads its inputs and calls the extractor: no MPI, no bank access.
  running_ = std::async(std::launch::async, [this, inputs = std::move(inputs)]() {
#ifdef ELM_HAVE_OPENMP
    // OpenMP's thread count is a per-thread setting: the worker's classifier runs one thread, so
    // on a many-core node it does not start a second full team over the cores generation uses.
    // (What hides the worker is a core of its own: docs/benchmarks.md, bench_aux_path.)
    omp_set_num_threads(1);
#endif
    std::vector<std::pair<int64_t, Extraction>> out;
    for (const auto& [index, text] : inputs) out.emplace_back(index, extract_(text));
    return out;
  });
}

void DualPath::exchange(MPI_Comm comm) {
  nlohmann::json mine = {{"facts", nlohmann::json::array()}, {"selected", selected_}};
  for (const auto& [index, e] : extracted_) {
    for (const auto& f : e.facts) mine["facts"].push_back(f);
  }
  selected_.clear();
  // Rank order, then request order (extracted_ is ordered by index), then sentence order.
  for (const std::string& text : dist::all_gather_text(comm, mine.dump())) {
    auto j = nlohmann::json::parse(text);
    for (const auto& f : j.at("facts")) gathered_facts_.push_back(f.get<std::string>());
    for (const auto& s : j.at("selected")) gathered_selected_.push_back(s.get<int64_t>());
  }
}

nlohmann::json DualPath::update(int64_t round, bool flush, MPI_Comm comm) {
  const auto start = std::chrono::steady_clock::now();
  updater_.record_retrievals(gathered_selected_);
  UpdateReport report = flush ? updater_.flush() : updater_.submit(gathered_facts_);
  const size_t facts = gathered_facts_.size(), selections = gathered_selected_.size();
  gathered_facts_.clear();
  gathered_selected_.clear();
  if (report.writes.empty() && report.skipped.empty()) return nullptr;
  nlohmann::json j = report.to_json();
  j["round"] = round;
  j["facts_gathered"] = facts;
  j["selections_recorded"] = selections;
  for (const auto& w : report.writes) checksum_.apply(w);
  j["bank_checksum"] = checksum_.text();
  if (options_.verify_replicas) {
    const auto all = dist::all_gather_text(comm, checksum_.text());
    for (size_t r = 1; r < all.size(); ++r) {
      ELM_CHECK(all[r] == all[0], "bank replicas differ after round ", round, ": rank 0 has ", all[0], ", rank ", r,
                " has ", all[r]);
    }
    j["replicas_verified"] = all.size();
  }
  j["update_seconds"] = seconds_since(start);
  for (const auto& w : report.writes) {
    ELM_LOG(info) << "bank update (round " << round << "): entry " << w.index << " <- \"" << w.new_text << "\" ("
                  << w.reason << ")";
  }
  updates_.push_back(j);
  return j;
}

nlohmann::json DualPath::end_round(int64_t round, MPI_Comm comm) {
  extracted_.clear();
  if (running_.valid()) {
    const auto start = std::chrono::steady_clock::now();
    auto results = running_.get();  // rethrows the worker's error here, on the main thread
    wait_seconds_ += seconds_since(start);
    for (auto& [index, e] : results) {
      extract_seconds_ += e.seconds;
      extracted_.emplace(index, std::move(e));
    }
  }
  exchange(comm);
  nlohmann::json report = {{"round", round}, {"facts", gathered_facts_.size()}};
  // Every rank submits the same lists in the same order, so the updaters write at the same rounds.
  report["update"] = update(round, /*flush=*/false, comm);
  ++rounds_;
  if (options_.verify_replicas && options_.full_check_every > 0 && rounds_ % options_.full_check_every == 0) {
    full_check(str_cat("round ", round), comm);
    report["full_check"] = true;
  }
  report["bank_checksum"] = checksum_.text();
  return report;
}

void DualPath::full_check(const std::string& when, MPI_Comm comm) {
  const BankChecksum full = BankChecksum::of(bank_);
  ++full_checks_;
  // "<whole bank> <followed through the writes>" of every rank, so that every rank decides alike.
  const std::string mine = full.text() + " " + checksum_.text();
  const std::vector<std::string> all = dist::all_gather_text(comm, mine);
  for (size_t r = 0; r < all.size(); ++r) {
    const size_t space = all[r].find(' ');
    const std::string whole = all[r].substr(0, space), followed = all[r].substr(space + 1);
    ELM_CHECK(whole == followed, "the bank of rank ", r, " changed outside the bank updater (found at ", when,
              "): its entries give ", whole, ", its updates ", followed);
    const std::string whole0 = all[0].substr(0, all[0].find(' '));
    ELM_CHECK(whole == whole0, "bank replicas differ after ", when, ": rank 0 has ", whole0, ", rank ", r, " has ",
              whole);
  }
}

nlohmann::json DualPath::ingest_of(int64_t index) const {
  auto it = extracted_.find(index);
  if (it == extracted_.end()) return nullptr;
  return {{"compressed", it->second.compressed}, {"facts", it->second.facts}, {"seconds", it->second.seconds}};
}

nlohmann::json DualPath::finish(MPI_Comm comm) {
  ELM_CHECK(!running_.valid(), "dual path: finish() during a round");
  nlohmann::json report = update(-1, /*flush=*/true, comm);
  if (options_.verify_replicas) full_check("the last round", comm);
  ELM_LOG(info) << "dual path: " << updates_.size() << " bank update(s); extraction " << extract_seconds_
                << " s on the worker, " << wait_seconds_ << " s of it not hidden behind generation";
  return report;
}

}  // namespace elm::infer
