#pragma once
// The questions of the knowledge evaluations (knowledge_eval.h, and the ingestion evaluation of
// the inference path): seeded samples of synth entities, one train-phrasing and one held-out
// question per attribute, fresh attribute values for edits, and accuracy by phrasing split.
#include <cstdint>
#include <random>
#include <vector>

#include "train/evaluation.h"
#include "train/synth.h"

namespace elm::train {

struct KnowledgeQuestion {
  QaItem item;
  bool heldout = false;
  Attribute attribute = Attribute::City;
};

// One train and one held-out question per attribute of entity e (bank entry `index`), templates
// drawn from gen.
std::vector<KnowledgeQuestion> questions_for(const SynthEntity& e, int64_t index, std::mt19937_64& gen);

// The same entity with attribute `a` moved to another value of its vocabulary (drawn from gen).
SynthEntity with_fresh_value(const SynthEntity& truth, Attribute a, std::mt19937_64& gen);
// The same entity with every attribute moved to another value (one draw per attribute, in order).
SynthEntity with_fresh_values(const SynthEntity& truth, std::mt19937_64& gen);

// 0, 1, ..., n-1 in a seeded Fisher-Yates order.
std::vector<int64_t> shuffled_indices(int64_t n, std::mt19937_64& gen);

std::vector<QaItem> items_of(const std::vector<KnowledgeQuestion>& questions);

struct SplitAccuracy {
  double all = 0, train = 0, heldout = 0;
};
// Accuracy of questions [begin, end) (judged as in `eval`, same order), over all of them and per
// phrasing split.
SplitAccuracy split_accuracy(const std::vector<KnowledgeQuestion>& questions, const QaEval& eval, size_t begin,
                             size_t end);

}  // namespace elm::train
