#pragma once
// One JSONL record -> one tokenised training example, per data format. These functions know
// nothing about files: they throw elm::Error with the reason, and Dataset adds FILE:LINE.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/chat_template.h"
#include "text/tokenizer.h"
#include "train/data_options.h"

namespace elm::train {

// A bank entry an example sees with different contents while it trains (counterfactual training:
// the answer follows the entry, so the fact cannot be memorised in the weights). DEMO-NOTES 2.
struct BankOverride {
  std::int64_t index = 0;  // bank entry
  std::string text;        // its contents for this example (tokenised like a bank fact)
};

struct Example {
  // Token ids, at most DataOptions::max_length of them.
  std::vector<std::int32_t> input_ids;
  // Per token, 1 when the token is a prediction target (the loss includes predicting it from the
  // tokens before it), else 0. Same length as input_ids. The first token is never predicted.
  std::vector<std::uint8_t> loss_mask;
  // Router format: bank entry indices and their soft-label scores (same length, >= 1). QA format
  // with "index": that one entry, score 1.
  std::vector<std::int64_t> target_indices;
  std::vector<float> target_scores;
  // QA format only: entries this example reads with other contents (see BankOverride).
  std::vector<BankOverride> bank_overrides;
  bool truncated = false;  // the tokenised record was longer than max_length
};

// Special ids the encoders use, looked up once: <|endoftext|> (also the pad id), <|im_end|>, and
// the ids of "<|im_start|>assistant\n".
struct SpecialIds {
  std::int32_t endoftext = 0;
  std::int32_t im_end = 0;
  std::vector<std::int32_t> assistant_header;
  static SpecialIds of(const text::Tokenizer& tokenizer);  // throws when a token is missing
};

// Pretrain: wrap=true -> "<|im_start|>assistant\n{text}<|im_end|>\n" (the chat template with one
// assistant turn), wrap=false -> text followed by <|endoftext|>. Every token is a target.
Example encode_pretrain(std::string_view text, const text::Tokenizer& tokenizer, const SpecialIds& ids,
                        std::int64_t max_length, bool wrap);

// SFT: the conversation rendered with the chat template; targets are exactly the assistant spans,
// from the token after "<|im_start|>assistant\n" through and including its <|im_end|> (the
// template's "<think>\n\n</think>\n\n" of the last assistant turn is part of its span).
Example encode_sft(const std::vector<text::ChatMessage>& conversation, const text::Tokenizer& tokenizer,
                   const SpecialIds& ids, std::int64_t max_length);

// Router: the query's tokens (no template, no targets) and the soft labels.
Example encode_router(std::string_view query, std::vector<std::int64_t> target_indices,
                      std::vector<float> target_scores, const text::Tokenizer& tokenizer, std::int64_t max_length);

// QA: the prompt's tokens then the answer's (encoded separately, so the prompt's tokens are
// exactly what generation starts from); targets are the answer tokens only. index >= 0 names the
// bank entry that holds the fact (router target, recall); -1 = none.
Example encode_qa(std::string_view prompt, std::string_view answer, std::int64_t index,
                  std::vector<BankOverride> overrides, const text::Tokenizer& tokenizer, std::int64_t max_length);

// Parses one JSONL line of `options.format` and encodes it. Throws elm::Error naming what is wrong
// (invalid JSON, a missing or mistyped field, an unknown role, ...), without file or line.
Example parse_example(std::string_view line, const DataOptions& options, const text::Tokenizer& tokenizer,
                      const SpecialIds& ids);

}  // namespace elm::train
