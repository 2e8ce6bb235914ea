#pragma once
// Does the inference path's auxiliary side teach the model new facts? Two passes over a trained
// knowledge-demo run (`explicitlm eval` with eval.ingest_facts / eval.ingest_new_entities; the
// demo's last JSON line carries the results):
//
//   changed facts   `facts` sampled bank entities get their fact sentence with `changed_attributes`
//                   of its three values changed (default 1: "Pemar now lives in Oslo" as the same
//                   sentence with another city); the dual path reads the texts as requests
//                   (passthrough extractor, policy `similarity`), then each entity is asked one
//                   train-phrasing and one held-out question per attribute: ingest_success = answers
//                   that agree with the new text (changed and unchanged values),
//                   ingest_changed_value_success = those about a changed value, ingest_placement =
//                   texts written over their own entity's entry.
//   new entities    `new_entities` entities no training text or bank entry ever named are ingested
//                   with policy `route` (each fact where its own router query points), then asked:
//                   route_success, and route_recall_at_k / route_hit_rate against the written entry.
//
// Both passes go through serve() + DualPath + BankUpdater exactly as `explicitlm generate
// --dual-path` does, on one process; the bank is restored after each pass.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "infer/inference_model.h"
#include "train/evaluation.h"

namespace elm::infer {

struct IngestEvalOptions {
  std::string synth_dir;
  uint64_t seed = 0;
  int64_t facts = 50;         // changed facts (0 = skip the pass)
  int64_t new_entities = 50;  // unseen entities (0 = skip the pass)
  int64_t changed_attributes = 1;  // of the 3 attributes, how many each changed fact changes
  train::QaEvalOptions qa;

  // eval.* keys (synth_dir, ingest_facts, ingest_new_entities, ingest_changed_attributes and the QA
  // options); seed from the caller.
  static IngestEvalOptions from_config(const Config& config, uint64_t seed);
};

// Runs the passes on `model` (a memory model whose bank holds the synth facts). `config` gives the
// updater's settings (inference.*; the freeze ratio is 0 here: every demo entry is user knowledge).
nlohmann::json evaluate_ingest(InferenceModel& model, const Config& config, const IngestEvalOptions& options);

}  // namespace elm::infer
