#include "infer/dual_path.h"

#include <chrono>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/clock.h"
#include "core/error.h"
#include "core/logging.h"
#include "dist/host_collectives.h"
#include "infer/fact_split.h"
#include "io/row_checksum.h"

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

std::string bank_checksum(const memory::MemoryBank& bank) {
  auto tokens = bank.tokens.to(torch::kInt32).contiguous();
  auto valid = bank.valid.to(torch::kUInt8).contiguous();
  const int64_t n = bank.num_entries;
  uint64_t texts = 0;
  for (int64_t i = 0; i < static_cast<int64_t>(bank.texts.size()); ++i) {
    const std::string& t = bank.texts[static_cast<size_t>(i)];
    texts ^= io::row_hash(t.data(), t.size(), i);
  }
  return io::checksum_text(io::rows_checksum(tokens.data_ptr<int32_t>(), n, sizeof(int32_t) * bank.entry_length, 0)) +
         ":" + io::checksum_text(io::rows_checksum(valid.data_ptr<uint8_t>(), n, 1, 0)) + ":" +
         io::checksum_text(texts);
}

DualPath::DualPath(FactExtractor extract, BankUpdater& updater, const memory::MemoryBank& bank,
                   DualPathOptions options)
    : extract_(std::move(extract)), updater_(updater), bank_(bank), options_(options) {
  checksum_ = bank_checksum(bank_);
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
#ifdef _OPENMP
    // OpenMP's thread count is a per-thread setting: the worker's classifier runs on one core, so
    // it does not oversubscribe the cores that generation's parallel regions use (measured on 2
    // cores: the dual path added 60% to serving with both at full width, 1.5% like this).
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
  checksum_ = bank_checksum(bank_);
  j["bank_checksum"] = checksum_;
  if (options_.verify_replicas) {
    const auto all = dist::all_gather_text(comm, checksum_);
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
  report["bank_checksum"] = checksum_;
  return report;
}

nlohmann::json DualPath::ingest_of(int64_t index) const {
  auto it = extracted_.find(index);
  if (it == extracted_.end()) return nullptr;
  return {{"compressed", it->second.compressed}, {"facts", it->second.facts}, {"seconds", it->second.seconds}};
}

nlohmann::json DualPath::finish(MPI_Comm comm) {
  ELM_CHECK(!running_.valid(), "dual path: finish() during a round");
  nlohmann::json report = update(-1, /*flush=*/true, comm);
  ELM_LOG(info) << "dual path: " << updates_.size() << " bank update(s); extraction " << extract_seconds_
                << " s on the worker, " << wait_seconds_ << " s of it not hidden behind generation";
  return report;
}

}  // namespace elm::infer
