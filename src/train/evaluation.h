#pragma once
// Evaluation of a model during and after training (docs/training.md, "Evaluation"):
//   - LM loss and perplexity over a dataset's loss positions;
//   - generative QA accuracy: greedy generation from each prompt, judged against the answer
//     (judge.h modes), in left-padded batches with the KV cache;
//   - for memory models, at each question's last prompt token: router recall@k (the target entry
//     among the top-k candidates) and the selection hit rate (the selected entry is the target),
//     plus the retrieval statistics (coverage, entropy, alpha) of every evaluated token.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "memory/explicit_lm.h"
#include "memory/stats.h"
#include "model/qwen3_model.h"
#include "text/tokenizer.h"
#include "train/dataset.h"
#include "train/judge.h"

namespace elm::train {

struct LmEval {
  double loss = std::numeric_limits<double>::quiet_NaN();  // mean CE per loss token
  double perplexity = std::numeric_limits<double>::quiet_NaN();
  int64_t tokens = 0;
  int64_t examples = 0;
};

// Examples [begin, end) of `data` (end clamped to its size). lm == nullptr evaluates the backbone alone.
LmEval evaluate_lm(memory::ExplicitLM* lm, const model::Qwen3Model& backbone, const Dataset& data,
                   int64_t batch_size, int64_t begin, int64_t end, int32_t pad_id);

struct QaItem {
  std::string prompt;  // generation starts right after it
  std::string answer;  // expected answer (judged against the generated text)
  int64_t index = -1;  // bank entry holding the fact; -1 = unknown (no recall / hit)
};

struct QaEvalOptions {
  JudgeMode judge = JudgeMode::startswith;
  int64_t max_new_tokens = 4;
  int64_t batch_size = 32;
  int64_t recall_k = 8;
};

struct QaEval {
  double accuracy = std::numeric_limits<double>::quiet_NaN();
  int64_t questions = 0;
  int64_t correct = 0;
  // Memory models with targets (NaN otherwise), averaged over memory layers.
  double recall_at_k = std::numeric_limits<double>::quiet_NaN();
  double hit_rate = std::numeric_limits<double>::quiet_NaN();
  double alpha = std::numeric_limits<double>::quiet_NaN();  // mean alpha at the last prompt token
  int64_t targeted = 0;    // questions that recall_at_k and hit_rate average (memory models, index >= 0)
  int64_t alpha_rows = 0;  // questions that alpha averages
  std::vector<std::string> generated;  // per item, decoded new tokens
  std::vector<bool> judged;            // per item
};

// lm == nullptr generates with the backbone alone. stats (optional) accumulates the retrieval
// statistics of the prompts' forward passes.
QaEval evaluate_qa(memory::ExplicitLM* lm, const model::Qwen3Model& backbone, const text::Tokenizer& tokenizer,
                   const std::vector<QaItem>& items, const QaEvalOptions& options,
                   memory::RetrievalStats* stats = nullptr);

// QA items from a qa-format JSONL file ({"prompt", "answer"[, "index"]}); errors name FILE:LINE.
std::vector<QaItem> read_qa_items(const std::string& path);

}  // namespace elm::train
