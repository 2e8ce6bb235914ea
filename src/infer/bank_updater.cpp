#include "infer/bank_updater.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/config.h"
#include "core/error.h"
#include "core/random.h"
#include "infer/fact_split.h"
#include "text/tokenizer.h"

namespace elm::infer {
namespace {

std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// FNV-1a, 64 bit.
struct Fnv {
  uint64_t h = 1469598103934665603ull;
  void bytes(const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) {
      h ^= b[i];
      h *= 1099511628211ull;
    }
  }
  template <class T>
  void value(const T& v) {
    bytes(&v, sizeof v);
  }
  void text(const std::string& s) {
    value(static_cast<uint64_t>(s.size()));
    bytes(s.data(), s.size());
  }
};

}  // namespace

BankUpdaterOptions BankUpdaterOptions::from_config(const Config& config) {
  BankUpdaterOptions o;
  o.policy = parse_update_policy(config.get_string("inference.update_policy"));
  o.freeze_ratio = config.get_float("model.freeze_ratio");
  o.similarity_threshold = config.get_float("inference.similarity_threshold");
  o.seed = static_cast<uint64_t>(config.get_int("runtime.seed"));
  o.route_candidates = config.get_int("inference.route_candidates");
  o.min_fact_chars = config.get_int("inference.min_fact_chars");
  o.update_interval = config.get_int("inference.update_interval");
  o.lsh.tables = config.get_int("inference.lsh_tables");
  o.lsh.bits = config.get_int("inference.lsh_bits");
  o.lsh.probes = config.get_int("inference.lsh_probes");
  o.lsh.max_candidates = config.get_int("inference.lsh_max_candidates");
  o.lsh.rerank = config.get_int("inference.lsh_rerank");
  o.lsh.seed = o.seed;
  o.validate();
  return o;
}

void BankUpdaterOptions::validate() const {
  ELM_CHECK(freeze_ratio >= 0 && freeze_ratio <= 1, "model.freeze_ratio must be in [0, 1], got ", freeze_ratio);
  ELM_CHECK(similarity_threshold >= -1 && similarity_threshold <= 1,
            "inference.similarity_threshold must be a cosine in [-1, 1], got ", similarity_threshold);
  ELM_CHECK(route_candidates >= 1, "inference.route_candidates must be >= 1, got ", route_candidates);
  ELM_CHECK(min_fact_chars >= 0, "inference.min_fact_chars must be >= 0, got ", min_fact_chars);
  ELM_CHECK(update_interval >= 1, "inference.update_interval must be >= 1, got ", update_interval);
  lsh.validate();
}

nlohmann::json UpdateReport::to_json() const {
  nlohmann::json writes_json = nlohmann::json::array();
  for (const auto& w : writes) {
    writes_json.push_back({{"index", w.index},
                           {"fact", w.fact},
                           {"old_text", w.old_text},
                           {"new_text", w.new_text},
                           {"old_valid", w.old_valid},
                           {"ids", w.ids},
                           {"reason", w.reason},
                           {"similarity", std::isnan(w.similarity) ? nlohmann::json(nullptr) : nlohmann::json(w.similarity)},
                           {"truncated", w.truncated},
                           {"token_count", w.token_count}});
  }
  return {{"policy", policy}, {"writes", writes_json}, {"skipped", skipped}, {"pending", pending},
          {"seconds", seconds}};
}

BankUpdater::BankUpdater(memory::MemoryBank& bank, memory::LocalBankReader* reader, const text::Tokenizer& tokenizer,
                         torch::Tensor embedding_table, BankUpdaterOptions options, RouteFunction route)
    : bank_(bank), reader_(reader), tokenizer_(tokenizer), options_(std::move(options)), route_(std::move(route)) {
  options_.validate();
  num_entries_ = bank.num_entries;
  entry_length_ = bank.entry_length;
  pad_id_ = bank.meta.pad_id;
  const int64_t N = num_entries_, L = entry_length_;
  ELM_CHECK(N > 0 && L > 0, "bank updater: the bank has ", N, " entries of ", L, " ids");
  ELM_CHECK(bank.tokens.defined() && bank.tokens.dim() == 2 && bank.tokens.size(0) == N && bank.tokens.size(1) == L,
            "bank updater: bank tokens must be [", N, ", ", L, "]",
            bank.tokens.defined() ? str_cat(", got ", bank.tokens.sizes()) : std::string(", got none"));
  ELM_CHECK(bank.tokens.scalar_type() == torch::kInt32 && bank.tokens.device().is_cpu() && bank.tokens.is_contiguous(),
            "bank updater: bank tokens must be a contiguous int32 CPU tensor (as build_bank/load_bank make them), got ",
            bank.tokens.scalar_type(), " on ", bank.tokens.device());
  ELM_CHECK(bank.valid.defined() && bank.valid.dim() == 1 && bank.valid.size(0) == N &&
                bank.valid.scalar_type() == torch::kBool && bank.valid.device().is_cpu() && bank.valid.is_contiguous(),
            "bank updater: bank validity must be a contiguous [", N, "] bool CPU tensor");
  ELM_CHECK(static_cast<int64_t>(bank.texts.size()) == N && static_cast<int64_t>(bank.token_counts.size()) == N,
            "bank updater: the bank has ", bank.texts.size(), " texts and ", bank.token_counts.size(),
            " token counts for ", N, " entries");
  ELM_CHECK(pad_id_ >= 0, "bank updater: the bank has no pad id (meta.pad_id = ", pad_id_, ")");
  tokens_ = bank.tokens.data_ptr<int32_t>();
  valid_ = bank.valid.data_ptr<bool>();

  frozen_end_ = std::min<int64_t>(N, static_cast<int64_t>(std::floor(options_.freeze_ratio * N + 1e-9)));
  ELM_CHECK(frozen_end_ < N, "model.freeze_ratio = ", options_.freeze_ratio, " freezes all ", N,
            " entries of the bank: no entry is writable");
  if (reader_) {
    ELM_CHECK(reader_->num_entries() == N && reader_->entry_length() == L && reader_->pad_id() == pad_id_,
              "bank updater: the reader holds ", reader_->num_entries(), " x ", reader_->entry_length(),
              " ids with pad ", reader_->pad_id(), ", the bank ", N, " x ", L, " with pad ", pad_id_);
  }
  if (options_.policy == UpdatePolicy::kRoute) {
    ELM_CHECK(static_cast<bool>(route_),
              "inference.update_policy = route needs the router's candidates (a RouteFunction, e.g. make_router_route)");
  }
  if (options_.policy == UpdatePolicy::kSimilarity) {
    ELM_CHECK(embedding_table.defined(),
              "inference.update_policy = similarity needs the backbone's token embedding table");
    embeddings_ = TokenEmbeddings(embedding_table);
    LshOptions lsh = options_.lsh;
    lsh.seed = options_.seed;
    index_ = std::make_unique<SimilarityIndex>(tokens_, valid_, N, L, pad_id_, frozen_end_, embeddings_, lsh);
  }

  // Never-written entries: the invalid (empty) writable ones are the oldest, then the valid ones,
  // each in index order, so every policy that takes "the oldest" fills empty rows first.
  std::vector<int64_t> order;
  order.reserve(static_cast<size_t>(N - frozen_end_));
  for (int64_t i = frozen_end_; i < N; ++i) {
    if (!valid_[i]) order.push_back(i);
  }
  for (int64_t i = frozen_end_; i < N; ++i) {
    if (valid_[i]) order.push_back(i);
  }
  age_.assign(static_cast<size_t>(N), 0);
  for (size_t k = 0; k < order.size(); ++k) age_[order[k]] = ++clock_;
  written_ = RecencyList(frozen_end_, N, order);
  used_ = RecencyList(frozen_end_, N, order);
  if (options_.policy == UpdatePolicy::kImportance) {
    importance_ = std::make_unique<ImportanceHeap>(
        frozen_end_, N, std::vector<uint64_t>(age_.begin() + frozen_end_, age_.end()));
  }
  retrievals_.assign(static_cast<size_t>(N), 0);
  ring_ = frozen_end_;
  rng_.seed(options_.seed);
}

void BankUpdater::check_bank_unchanged() const {
  ELM_CHECK(bank_.tokens.defined() && bank_.tokens.data_ptr() == static_cast<void*>(tokens_) &&
                bank_.valid.defined() && bank_.valid.data_ptr() == static_cast<void*>(valid_) &&
                bank_.num_entries == num_entries_ && bank_.entry_length == entry_length_ &&
                static_cast<int64_t>(bank_.texts.size()) == num_entries_ &&
                static_cast<int64_t>(bank_.token_counts.size()) == num_entries_,
            "bank updater: the bank's tables were replaced since the updater was built; build a new updater");
}

uint64_t BankUpdater::retrieval_count(int64_t index) const {
  ELM_CHECK(index >= 0 && index < num_entries_, "bank index ", index, " is outside [0, ", num_entries_, ")");
  return retrievals_[index];
}

int64_t BankUpdater::draw_random() {
  // Uniform over [frozen_end, N), portable across standard libraries (core/random.h).
  return frozen_end_ + static_cast<int64_t>(uniform_below(rng_, static_cast<uint64_t>(num_entries_ - frozen_end_)));
}

BankUpdater::Choice BankUpdater::choose_route(const std::vector<int32_t>& ids, int64_t fact) {
  std::vector<int32_t> fact_ids;
  for (int32_t id : ids) {
    if (id != pad_id_) fact_ids.push_back(id);
  }
  const std::vector<int64_t> candidates = route_(fact_ids);
  for (size_t k = 0; k < candidates.size(); ++k) {
    ELM_CHECK(candidates[k] >= 0 && candidates[k] < num_entries_, "route: fact ", fact, ": router candidate ", k,
              " is entry ", candidates[k], ", outside [0, ", num_entries_, ")");
  }
  int64_t invalid = -1, oldest = -1, considered = 0;
  for (size_t k = 0; k < candidates.size() && considered < options_.route_candidates; ++k) {
    const int64_t c = candidates[k];
    if (!writable(c)) continue;
    ++considered;
    if (!valid_[c] && invalid < 0) invalid = static_cast<int64_t>(k);
    if (oldest < 0 || age_[c] < age_[candidates[oldest]]) oldest = static_cast<int64_t>(k);
  }
  if (invalid >= 0) return {candidates[invalid], str_cat("route candidate ", invalid, " (invalid)")};
  if (oldest >= 0) return {candidates[oldest], str_cat("route candidate ", oldest, " (least recently written)")};
  return {written_.front(), str_cat("oldest (none of the router's ", candidates.size(), " candidates is writable)")};
}

BankUpdater::Choice BankUpdater::choose(const std::vector<int32_t>& ids, int64_t fact, const EntrySketch* sketch) {
  switch (options_.policy) {
    case UpdatePolicy::kFifo: {
      const int64_t i = ring_;
      ring_ = ring_ + 1 == num_entries_ ? frozen_end_ : ring_ + 1;
      return {i, "ring"};
    }
    case UpdatePolicy::kLru:
      return {used_.front(), "least recently used"};
    case UpdatePolicy::kRandom:
      return {draw_random(), "random"};
    case UpdatePolicy::kImportance: {
      const int64_t i = importance_->top();
      return {i, str_cat("lowest retrieval count (", retrievals_[i], ")")};
    }
    case UpdatePolicy::kSimilarity: {
      const SimilarityMatch m = index_->nearest(*sketch);
      if (m.index >= 0 && m.cosine >= options_.similarity_threshold) {
        return {m.index, "similar (cosine " + fixed3(m.cosine) + ")", m.cosine};
      }
      if (m.index < 0) return {written_.front(), "oldest (no similar entry found)", m.cosine};
      return {written_.front(),
              "oldest (best cosine " + fixed3(m.cosine) + " < " + fixed3(options_.similarity_threshold) + ")",
              m.cosine};
    }
    case UpdatePolicy::kRoute:
      return choose_route(ids, fact);
  }
  fail("bank updater: unknown policy");
}

void BankUpdater::write(int64_t i, const std::string& text, const std::vector<int32_t>& ids, int32_t token_count,
                        const EntrySketch* sketch) {
  if (index_) index_->remove(i);
  std::copy(ids.begin(), ids.end(), tokens_ + i * entry_length_);
  valid_[i] = true;
  bank_.texts[static_cast<size_t>(i)] = text;
  bank_.token_counts[static_cast<size_t>(i)] = token_count;
  if (reader_) reader_->write_entry(i, ids, true);
  age_[i] = ++clock_;
  written_.touch(i);
  used_.touch(i);
  retrievals_[i] = 0;  // the new fact has not been retrieved yet
  if (importance_) importance_->update(i, 0, age_[i]);
  if (index_) index_->insert(i, *sketch);
}

UpdateReport BankUpdater::apply(const std::vector<std::string>& facts) {
  const auto t0 = std::chrono::steady_clock::now();
  check_bank_unchanged();
  UpdateReport report;
  report.policy = update_policy_name(options_.policy);
  report.pending = static_cast<int64_t>(queue_.size());
  for (size_t f = 0; f < facts.size(); ++f) {
    const std::string& text = facts[f];
    if (text.find('\0') != std::string::npos) {
      report.skipped.push_back(str_cat("fact ", f, ": contains a NUL byte"));
      continue;
    }
    int32_t token_count = 0;
    std::vector<int32_t> ids;
    try {
      ids = memory::encode_entry(tokenizer_, text, entry_length_, pad_id_, &token_count);
    } catch (const Error& e) {
      fail("bank update: fact ", f, ": ", e.what());
    }
    int64_t real = 0;
    for (int32_t id : ids) real += id != pad_id_;
    if (real == 0) {
      report.skipped.push_back(str_cat("fact ", f, ": no tokens"));
      continue;
    }
    EntrySketch sketch;
    if (index_) {
      try {
        sketch = index_->sketch(ids);
      } catch (const Error& e) {
        fail("bank update: fact ", f, ": ", e.what());
      }
    }
    const Choice choice = choose(ids, static_cast<int64_t>(f), index_ ? &sketch : nullptr);
    ELM_CHECK(writable(choice.index), "bank updater: policy chose entry ", choice.index, " outside the writable [",
              frozen_end_, ", ", num_entries_, ")");  // an internal invariant
    EntryWrite w;
    w.index = choice.index;
    w.fact = static_cast<int64_t>(f);
    w.old_text = bank_.texts[static_cast<size_t>(choice.index)];
    w.new_text = text;
    w.old_valid = valid_[choice.index];
    w.old_ids.assign(tokens_ + choice.index * entry_length_, tokens_ + (choice.index + 1) * entry_length_);
    w.ids = ids;
    w.reason = choice.reason;
    w.similarity = choice.similarity;
    w.truncated = token_count > entry_length_;
    w.token_count = token_count;
    write(choice.index, text, ids, token_count, index_ ? &sketch : nullptr);
    report.writes.push_back(std::move(w));
  }
  report.seconds = seconds_since(t0);
  return report;
}

UpdateReport BankUpdater::apply_text(const std::string& text) {
  return apply(split_facts(text, options_.min_fact_chars));
}

UpdateReport BankUpdater::submit(const std::vector<std::string>& facts) {
  queue_.insert(queue_.end(), facts.begin(), facts.end());
  ++submits_;
  if (submits_ % options_.update_interval == 0) return flush();
  UpdateReport report;
  report.policy = update_policy_name(options_.policy);
  report.pending = static_cast<int64_t>(queue_.size());
  return report;
}

UpdateReport BankUpdater::flush() {
  std::vector<std::string> facts;
  facts.swap(queue_);
  return apply(facts);
}

void BankUpdater::record_retrievals(const std::vector<int64_t>& indices) {
  for (size_t k = 0; k < indices.size(); ++k) {
    const int64_t i = indices[k];
    ELM_CHECK(i == -1 || (i >= 0 && i < num_entries_), "record_retrievals: bank index ", i, " (position ", k,
              ") is outside [0, ", num_entries_, ")");
  }
  for (int64_t i : indices) {
    if (i < 0) continue;
    ++retrievals_[i];
    if (!writable(i)) continue;
    used_.touch(i);
    if (importance_) importance_->update(i, retrievals_[i], age_[i]);
  }
}

uint64_t BankUpdater::state_fingerprint() const {
  check_bank_unchanged();
  Fnv h;
  h.value(num_entries_);
  h.value(entry_length_);
  h.value(frozen_end_);
  h.bytes(tokens_, static_cast<size_t>(num_entries_ * entry_length_) * sizeof(int32_t));
  h.bytes(valid_, static_cast<size_t>(num_entries_) * sizeof(bool));
  for (const auto& t : bank_.texts) h.text(t);
  h.bytes(bank_.token_counts.data(), bank_.token_counts.size() * sizeof(int32_t));
  h.bytes(age_.data(), age_.size() * sizeof(uint64_t));
  h.value(clock_);
  h.bytes(retrievals_.data(), retrievals_.size() * sizeof(uint64_t));
  h.value(ring_);
  std::ostringstream rng_state;
  rng_state << rng_;
  h.text(rng_state.str());
  for (int64_t i : used_.order()) h.value(i);
  for (int64_t i : written_.order()) h.value(i);
  for (const auto& q : queue_) h.text(q);
  h.value(submits_);
  return h.h;
}

}  // namespace elm::infer
