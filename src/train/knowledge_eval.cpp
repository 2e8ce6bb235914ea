#include "train/knowledge_eval.h"

#include <algorithm>
#include <random>

#include "core/config.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/text_file.h"
#include "train/knowledge_questions.h"

namespace elm::train {

KnowledgeEvalOptions KnowledgeEvalOptions::from_config(const Config& c, uint64_t seed) {
  KnowledgeEvalOptions o;
  o.synth_dir = c.get_string("eval.synth_dir");
  o.seed = seed;
  o.entities = c.get_int("eval.entities");
  o.edit_fraction = c.get_float("eval.edit_fraction");
  o.qa.judge = parse_judge_mode(c.get_string("eval.judge"));
  o.qa.max_new_tokens = c.get_int("eval.max_new_tokens");
  o.qa.batch_size = c.get_int("eval.batch_size");
  o.qa.recall_k = c.get_int("eval.recall_k");
  return o;
}

SynthData load_synth(const std::string& dir) {
  const std::string manifest_path = dir + "/manifest.json";
  auto m = nlohmann::json::parse(read_text_file(manifest_path), nullptr, false);
  ELM_CHECK(!m.is_discarded() && m.is_object(), manifest_path, ": not a JSON object");
  SynthOptions o;
  try {
    o.seed = m.at("seed").get<uint64_t>();
    o.entities = m.at("entities").get<int64_t>();
    o.disjoint_entities = m.at("disjoint_entities").get<int64_t>();
    o.counterfactuals = m.at("counterfactuals_per_entity").get<int64_t>();
    o.train_variants = m.value("train_variants_per_entity", int64_t{0});
    o.router_variants = m.value("router_variants_per_entity", int64_t{0});
  } catch (const std::exception& e) {
    fail(manifest_path, ": ", e.what());
  }
  SynthData data = generate_synth(o);
  const std::string kb_path = dir + "/knowledge.json";
  auto kb = nlohmann::json::parse(read_text_file(kb_path), nullptr, false);
  ELM_CHECK(kb.is_array() && kb.size() == data.entities.size(), kb_path, " does not hold the ", data.entities.size(),
            " facts its manifest describes (regenerate with explicitlm synth)");
  for (size_t i = 0; i < data.entities.size(); ++i) {
    ELM_CHECK(kb[i].is_object() && kb[i].value("sentence", "") == fact_sentence(data.entities[i]), kb_path, ": fact ",
              i, " differs from what the manifest's seed generates (was the file edited?)");
  }
  return data;
}

nlohmann::json evaluate_knowledge(memory::ExplicitLM& lm, const memory::MemoryBank& bank,
                                  const text::Tokenizer& tokenizer, const KnowledgeEvalOptions& options) {
  ELM_CHECK(!options.synth_dir.empty(), "the knowledge evaluation needs eval.synth_dir (an explicitlm synth directory)");
  const SynthData data = load_synth(options.synth_dir);
  const auto n_entities = static_cast<int64_t>(data.entities.size());
  ELM_CHECK(bank.num_entries >= n_entities, "the bank has ", bank.num_entries, " entries, fewer than the ", n_entities,
            " entities of ", options.synth_dir);
  for (int64_t i = 0; i < n_entities; ++i) {
    ELM_CHECK(bank.texts[static_cast<size_t>(i)] == fact_sentence(data.entities[static_cast<size_t>(i)]),
              "bank entry ", i, " holds \"", bank.texts[static_cast<size_t>(i)], "\", not the fact of entity ",
              data.entities[static_cast<size_t>(i)].name, " from ", options.synth_dir,
              " (build the bank from its knowledge.json)");
  }

  // The sample: a seeded shuffle of the entities, independent of the synth seed's own streams.
  std::mt19937_64 gen(options.seed * 0x9e3779b97f4a7c15ULL + 0x6b6e6f77ULL);
  const std::vector<int64_t> order = shuffled_indices(n_entities, gen);
  const int64_t sample = options.entities > 0 ? std::min(options.entities, n_entities) : n_entities;
  const int64_t edited = std::max<int64_t>(1, std::llround(options.edit_fraction * static_cast<double>(sample)));

  std::vector<KnowledgeQuestion> truth_qs;
  for (int64_t s = 0; s < sample; ++s) {
    const int64_t e = order[static_cast<size_t>(s)];
    auto q = questions_for(data.entities[static_cast<size_t>(e)], e, gen);
    truth_qs.insert(truth_qs.end(), q.begin(), q.end());
  }

  // Fresh edits: every attribute moves to another value.
  auto edited_tokens = bank.tokens.clone();
  std::vector<KnowledgeQuestion> edit_qs, kept_qs;
  for (int64_t s = 0; s < sample; ++s) {
    const int64_t e = order[static_cast<size_t>(s)];
    const SynthEntity& truth = data.entities[static_cast<size_t>(e)];
    if (s < edited) {
      const SynthEntity changed = with_fresh_values(truth, gen);
      const auto row = memory::encode_entry(tokenizer, fact_sentence(changed), bank.entry_length, bank.meta.pad_id);
      edited_tokens[e].copy_(torch::tensor(std::vector<int32_t>(row.begin(), row.end()), torch::kInt32));
      auto q = questions_for(changed, e, gen);
      edit_qs.insert(edit_qs.end(), q.begin(), q.end());
    } else {
      auto q = questions_for(truth, e, gen);
      kept_qs.insert(kept_qs.end(), q.begin(), q.end());
    }
  }

  // The reader the model had is put back at the end (callers may hold it, e.g. to update it).
  const auto previous = lm.bank_ptr();
  auto original = std::make_shared<memory::LocalBankReader>(memory::make_bank_reader(bank));
  auto emptied = std::make_shared<memory::LocalBankReader>(bank.tokens, torch::zeros_like(bank.valid),
                                                           bank.meta.pad_id);
  auto changed = std::make_shared<memory::LocalBankReader>(edited_tokens, bank.valid, bank.meta.pad_id);

  lm.set_bank(original);
  memory::RetrievalStats stats(lm.memory_layers(), bank.num_entries);
  const QaEval with = evaluate_qa(&lm, lm.backbone(), tokenizer, items_of(truth_qs), options.qa, &stats);
  lm.set_bank(emptied);
  const QaEval without = evaluate_qa(&lm, lm.backbone(), tokenizer, items_of(truth_qs), options.qa);
  lm.set_bank(changed);
  std::vector<KnowledgeQuestion> after = edit_qs;
  after.insert(after.end(), kept_qs.begin(), kept_qs.end());
  const QaEval edit = evaluate_qa(&lm, lm.backbone(), tokenizer, items_of(after), options.qa);
  lm.set_bank(previous);

  const auto w = split_accuracy(truth_qs, with, 0, truth_qs.size());
  const auto wo = split_accuracy(truth_qs, without, 0, truth_qs.size());
  const auto ed = split_accuracy(after, edit, 0, edit_qs.size());
  const auto kept = split_accuracy(after, edit, edit_qs.size(), after.size());
  double coverage = 0;
  const auto summary = stats.summary();
  for (const auto& s : summary) coverage += s.coverage;

  nlohmann::json j;
  j["accuracy_with_bank"] = w.all;
  j["accuracy_with_bank_train_templates"] = w.train;
  j["accuracy_with_bank_heldout_templates"] = w.heldout;
  j["accuracy_without_bank"] = wo.all;
  j["edit_success"] = ed.all;
  j["edit_success_train_templates"] = ed.train;
  j["edit_success_heldout_templates"] = ed.heldout;
  j["unedited_accuracy_after_edit"] = kept_qs.empty() ? nlohmann::json(nullptr) : nlohmann::json(kept.all);
  j["knowledge_sensitivity"] = w.all - wo.all;
  j["router_recall_at_k"] = with.recall_at_k;
  j["selection_hit_rate"] = with.hit_rate;
  j["alpha_with_bank"] = with.alpha;
  j["alpha_without_bank"] = without.alpha;
  j["coverage"] = summary.empty() ? 0.0 : coverage / static_cast<double>(summary.size());
  j["questions"] = static_cast<int64_t>(truth_qs.size());
  j["entities"] = sample;
  j["edited_entities"] = edited;
  j["judge"] = judge_mode_name(options.qa.judge);
  j["seed"] = options.seed;
  return j;
}

}  // namespace elm::train
