#pragma once
// The evaluation at the end of a training run (docs/training.md, "Evaluation"): LM loss and
// perplexity on data.eval_path, QA accuracy (with router recall, hit rate, alpha and bank
// coverage for memory models) on eval.qa_path, both cut to eval.max_examples.
//
// Under data parallelism every rank of the group evaluates a contiguous slice of the examples and
// questions and the sums are reduced, so the numbers equal one process's. Generation runs a
// different number of forward calls per rank, so the ranks cannot share a sharded bank for it:
// the caller hands in a model that reads a whole copy of the bank (data_parallel.h gather_bank).
#include <cstdint>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "dist/communicator.h"
#include "memory/explicit_lm.h"
#include "model/qwen3_model.h"
#include "text/tokenizer.h"
#include "train/dataset.h"

namespace elm::train {

// The "eval" metrics line {"kind": "eval", "step": step, ...}, or null when the config names
// nothing to evaluate. lm == nullptr evaluates the backbone alone. `train_format` router skips the
// LM evaluation (router data has no text to predict). group: the DP group (null = one process);
// collective over it.
nlohmann::json final_evaluation(const Config& config, memory::ExplicitLM* lm, const model::Qwen3Model& backbone,
                                const text::Tokenizer& tokenizer, int32_t pad_id, int64_t step,
                                DataFormat train_format, dist::Communicator* group);

}  // namespace elm::train
