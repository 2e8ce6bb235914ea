#include "train/knowledge_questions.h"

#include <algorithm>

#include "core/random.h"

namespace elm::train {

std::vector<KnowledgeQuestion> questions_for(const SynthEntity& e, int64_t index, std::mt19937_64& gen) {
  std::vector<KnowledgeQuestion> out;
  for (bool heldout : {false, true}) {
    auto pairs = qa_pairs(e, heldout);
    for (int a = 0; a < kNumAttributes; ++a) {
      std::vector<const QaPair*> of_attr;
      for (const auto& p : pairs) {
        if (p.attribute == attribute_name(static_cast<Attribute>(a))) of_attr.push_back(&p);
      }
      if (of_attr.empty()) continue;
      const QaPair& p = *of_attr[uniform_below(gen, of_attr.size())];
      out.push_back({QaItem{qa_prompt(p.question), p.answer, index}, heldout, static_cast<Attribute>(a)});
    }
  }
  return out;
}

SynthEntity with_fresh_value(const SynthEntity& truth, Attribute a, std::mt19937_64& gen) {
  SynthEntity changed = truth;
  const int k = static_cast<int>(a);
  const auto& vocab = attribute_values(a);
  const auto orig = static_cast<uint64_t>(std::find(vocab.begin(), vocab.end(), truth.values[k]) - vocab.begin());
  changed.values[k] = vocab[(orig + 1 + uniform_below(gen, vocab.size() - 1)) % vocab.size()];
  return changed;
}

SynthEntity with_fresh_values(const SynthEntity& truth, std::mt19937_64& gen) {
  SynthEntity changed = truth;
  for (int a = 0; a < kNumAttributes; ++a) changed = with_fresh_value(changed, static_cast<Attribute>(a), gen);
  return changed;
}

std::vector<int64_t> shuffled_indices(int64_t n, std::mt19937_64& gen) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[static_cast<size_t>(i)], order[uniform_below(gen, i + 1)]);
  return order;
}

std::vector<QaItem> items_of(const std::vector<KnowledgeQuestion>& questions) {
  std::vector<QaItem> out;
  out.reserve(questions.size());
  for (const auto& q : questions) out.push_back(q.item);
  return out;
}

SplitAccuracy split_accuracy(const std::vector<KnowledgeQuestion>& qs, const QaEval& r, size_t begin, size_t end) {
  int64_t n[2] = {0, 0}, ok[2] = {0, 0};
  for (size_t i = begin; i < end; ++i) {
    const int h = qs[i].heldout ? 1 : 0;
    ++n[h];
    ok[h] += r.judged[i] ? 1 : 0;
  }
  auto frac = [](int64_t a, int64_t b) { return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0; };
  return {frac(ok[0] + ok[1], n[0] + n[1]), frac(ok[0], n[0]), frac(ok[1], n[1])};
}

}  // namespace elm::train
