#pragma once
// The knowledge evaluation of the demo and `explicitlm eval` (docs/training.md, "Knowledge
// evaluation"): does the model read its facts from the bank?
//
// From an `explicitlm synth` directory (the bank must hold its facts, entry i = entity i) and a
// seed, a fresh sample of entities is asked one train-phrasing and one held-out-phrasing question
// per attribute, greedily, three times:
//   1. with the bank                         -> accuracy_with_bank
//   2. with every entry invalid              -> accuracy_without_bank
//   3. with a fraction of the sampled entities' entries rewritten with fresh attribute values
//      (every value differs from the true one; drawn from the seed, not from the synth files)
//      -> edit_success (answers follow the new values), unedited_accuracy_after_edit.
// knowledge_sensitivity = accuracy_with_bank - accuracy_without_bank.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "memory/bank.h"
#include "memory/explicit_lm.h"
#include "text/tokenizer.h"
#include "train/evaluation.h"
#include "train/synth.h"

namespace elm {
class Config;
}

namespace elm::train {

struct KnowledgeEvalOptions {
  std::string synth_dir;
  uint64_t seed = 0;
  int64_t entities = 300;      // sampled entities; 0 = all
  double edit_fraction = 0.5;  // of the sampled entities
  QaEvalOptions qa;

  // eval.* keys; seed from the caller.
  static KnowledgeEvalOptions from_config(const Config& config, uint64_t seed);
};

// Regenerates the synth data from DIR/manifest.json (seed and counts) and checks that it matches
// DIR/knowledge.json; throws elm::Error naming the file otherwise.
SynthData load_synth(const std::string& synth_dir);

// Runs the three passes. The model's bank is restored before returning. `bank` is the bank the
// model reads (its texts are checked against the synth facts).
nlohmann::json evaluate_knowledge(memory::ExplicitLM& lm, const memory::MemoryBank& bank,
                                  const text::Tokenizer& tokenizer, const KnowledgeEvalOptions& options);

}  // namespace elm::train
