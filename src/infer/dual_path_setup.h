#pragma once
// The dual path of `generate` and `chat`, built from the config for a loaded memory model: the
// compressor (extractor.*), the bank updater over the model's bank and reader (inference.*,
// model.freeze_ratio; the route policy asks the model's own router), and the DualPath, whose
// observer is installed on the MemoryLM so that generation's selections reach lru / importance.
#include <memory>

#include "core/config.h"
#include "infer/bank_updater.h"
#include "infer/causal_lm.h"
#include "infer/dual_path.h"
#include "infer/inference_model.h"

namespace elm::infer {

struct DualPathSetup {
  std::unique_ptr<BankUpdater> updater;
  std::unique_ptr<DualPath> dual;
};

// Errors: a model without memory (the dual path writes into a bank), a bad extractor or policy.
// `lm` may be null (generation without memory still updates the bank).
DualPathSetup make_dual_path(InferenceModel& model, MemoryLM* lm, const Config& config);

}  // namespace elm::infer
