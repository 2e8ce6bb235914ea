#include "infer/ingest_eval.h"

#include <random>

#include "core/error.h"
#include "core/logging.h"
#include "infer/bank_updater.h"
#include "infer/compressor.h"
#include "infer/dual_path.h"
#include "infer/route_query.h"
#include "infer/serving.h"
#include "train/knowledge_eval.h"
#include "train/knowledge_questions.h"

namespace elm::infer {
namespace {

// The bank's tables as they were, put back after a pass.
class BankSnapshot {
 public:
  explicit BankSnapshot(const InferenceModel& m)
      : tokens_(m.bank->tokens.clone()), valid_(m.bank->valid.clone()), texts_(m.bank->texts),
        counts_(m.bank->token_counts) {}
  void restore(InferenceModel& m) const {
    m.bank->tokens = tokens_.clone();
    m.bank->valid = valid_.clone();
    m.bank->texts = texts_;
    m.bank->token_counts = counts_;
    m.reader->reset(m.bank->tokens, m.bank->valid);
  }

 private:
  torch::Tensor tokens_, valid_;
  std::vector<std::string> texts_;
  std::vector<int32_t> counts_;
};

// Serves `texts` as requests through the dual path (one process) and returns its update reports.
std::vector<nlohmann::json> ingest(InferenceModel& m, const Config& config, const std::vector<std::string>& texts,
                                   UpdatePolicy policy, int64_t batch_size) {
  Config c = config;
  c.set("extractor.kind", std::string("passthrough"), "ingest evaluation");
  c.set("model.freeze_ratio", 0.0, "ingest evaluation");
  BankUpdaterOptions uo = BankUpdaterOptions::from_config(c);
  uo.policy = policy;
  RouteFunction route;
  if (policy == UpdatePolicy::kRoute) route = make_router_route(*m.lm);
  BankUpdater updater(*m.bank, m.reader.get(), *m.tokenizer, m.backbone->weights().embed_tokens, uo, route);
  DualPath dual(make_fact_extractor(make_compressor(c), c.get_int("inference.min_fact_chars")), updater, *m.bank,
                DualPathOptions{});
  MemoryLM lm(*m.lm);
  lm.set_observer(dual.observer());
  std::vector<Request> requests;
  for (size_t i = 0; i < texts.size(); ++i) {
    requests.push_back(make_text_request(texts[i], *m.tokenizer, {}, static_cast<int64_t>(i)));
  }
  ServeOptions so;
  so.batch_size = batch_size;
  so.generate.max_new_tokens = 1;
  so.generate.sampling.greedy = true;
  serve(lm, requests, so, MPI_COMM_NULL, nullptr, &dual);
  return dual.updates();
}

// Where each ingested text's fact went: fact text -> entry index, from the update reports.
std::map<std::string, int64_t> written_entries(const std::vector<nlohmann::json>& updates) {
  std::map<std::string, int64_t> out;
  for (const auto& u : updates) {
    for (const auto& w : u.value("writes", nlohmann::json::array())) {
      out[w.at("new_text").get<std::string>()] = w.at("index").get<int64_t>();
    }
  }
  return out;
}

}  // namespace

IngestEvalOptions IngestEvalOptions::from_config(const Config& c, uint64_t seed) {
  IngestEvalOptions o;
  const auto k = train::KnowledgeEvalOptions::from_config(c, seed);
  o.synth_dir = k.synth_dir;
  o.seed = seed;
  o.qa = k.qa;
  o.facts = c.get_int("eval.ingest_facts");
  o.new_entities = c.get_int("eval.ingest_new_entities");
  o.changed_attributes = c.get_int("eval.ingest_changed_attributes");
  return o;
}

nlohmann::json evaluate_ingest(InferenceModel& m, const Config& config, const IngestEvalOptions& options) {
  ELM_CHECK(m.has_memory(), "the ingest evaluation needs a memory model");
  // The updater writes through m.reader: the model must be reading that very reader.
  ELM_CHECK(m.lm->bank_ptr().get() == m.reader.get(), "the ingest evaluation: the model does not read its bank reader");
  ELM_CHECK(!options.synth_dir.empty(), "the ingest evaluation needs eval.synth_dir (an explicitlm synth directory)");
  const train::SynthData data = train::load_synth(options.synth_dir);
  const auto n = static_cast<int64_t>(data.entities.size());
  // Its own stream: the knowledge evaluation's sample and edits are not shifted by this one.
  std::mt19937_64 gen(options.seed * 0x9e3779b97f4a7c15ULL + 0x696e6765ULL);
  nlohmann::json out;
  const BankSnapshot snapshot(m);

  if (options.facts > 0) {
    const std::vector<int64_t> order = train::shuffled_indices(n, gen);
    const int64_t count = std::min(options.facts, n);
    std::vector<std::string> texts;
    std::vector<train::KnowledgeQuestion> questions;
    std::vector<bool> changed_attribute;  // per question: does it ask about a value the text changed?
    for (int64_t s = 0; s < count; ++s) {
      const int64_t e = order[static_cast<size_t>(s)];
      const train::SynthEntity& truth = data.entities[static_cast<size_t>(e)];
      // Entity s changes attributes s, s+1, ... (mod 3): `changed_attributes` of them.
      train::SynthEntity changed = truth;
      for (int64_t k = 0; k < options.changed_attributes; ++k) {
        changed = train::with_fresh_value(changed, static_cast<train::Attribute>((s + k) % train::kNumAttributes), gen);
      }
      texts.push_back(train::fact_sentence(changed));
      for (auto& q : train::questions_for(changed, e, gen)) {
        changed_attribute.push_back(changed.value(q.attribute) != truth.value(q.attribute));
        questions.push_back(std::move(q));
      }
    }
    const auto updates = ingest(m, config, texts, UpdatePolicy::kSimilarity, options.qa.batch_size);
    const auto written = written_entries(updates);
    int64_t placed = 0;
    for (int64_t s = 0; s < count; ++s) {
      auto it = written.find(texts[static_cast<size_t>(s)]);
      placed += (it != written.end() && it->second == order[static_cast<size_t>(s)]) ? 1 : 0;
    }
    const auto eval = train::evaluate_qa(m.lm.get(), *m.backbone, *m.tokenizer, train::items_of(questions), options.qa);
    const auto acc = train::split_accuracy(questions, eval, 0, questions.size());
    int64_t asked = 0, followed = 0;
    for (size_t i = 0; i < questions.size(); ++i) {
      if (!changed_attribute[i]) continue;
      ++asked;
      followed += eval.judged[i] ? 1 : 0;
    }
    out["ingest_success"] = acc.all;
    out["ingest_success_train_templates"] = acc.train;
    out["ingest_success_heldout_templates"] = acc.heldout;
    out["ingest_changed_value_success"] = asked > 0 ? static_cast<double>(followed) / static_cast<double>(asked) : 0.0;
    out["ingest_placement"] = static_cast<double>(placed) / static_cast<double>(count);
    out["ingest_facts"] = count;
    out["ingest_changed_attributes"] = options.changed_attributes;
    out["ingest_policy"] = "similarity";
    snapshot.restore(m);
  }

  if (options.new_entities > 0) {
    const auto unseen = train::unseen_entities(data, options.new_entities);
    std::vector<std::string> texts;
    for (const auto& e : unseen) texts.push_back(train::fact_sentence(e));
    const auto updates = ingest(m, config, texts, UpdatePolicy::kRoute, options.qa.batch_size);
    const auto written = written_entries(updates);
    std::vector<train::KnowledgeQuestion> questions;
    for (size_t i = 0; i < unseen.size(); ++i) {
      auto it = written.find(texts[i]);
      auto q = train::questions_for(unseen[i], it == written.end() ? -1 : it->second, gen);
      questions.insert(questions.end(), q.begin(), q.end());
    }
    const auto eval = train::evaluate_qa(m.lm.get(), *m.backbone, *m.tokenizer, train::items_of(questions), options.qa);
    const auto acc = train::split_accuracy(questions, eval, 0, questions.size());
    out["route_success"] = acc.all;
    out["route_success_train_templates"] = acc.train;
    out["route_success_heldout_templates"] = acc.heldout;
    out["route_recall_at_k"] = eval.recall_at_k;
    out["route_hit_rate"] = eval.hit_rate;
    out["route_new_entities"] = static_cast<int64_t>(unseen.size());
    snapshot.restore(m);
  }
  return out;
}

}  // namespace elm::infer
