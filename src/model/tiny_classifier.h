#pragma once
// Writes a small random LLMLingua-2-style token classifier (BERT or XLM-RoBERTa) in HuggingFace
// layout: config.json, model.safetensors (F32, HF tensor names) and the tokenizer files, with
// [NEW0]..[NEW99] added. The stand-in for microsoft/llmlingua-2-* in tests and demos.
#include <cstdint>
#include <string>

#include "model/encoder_config.h"

namespace elm::model {

struct TinyClassifierOptions {
  std::string arch = "bert";  // "bert" or "xlm-roberta"
  uint64_t seed = 0;
  int64_t hidden_size = 32;
  int64_t num_layers = 2;
  int64_t num_heads = 2;
  int64_t intermediate_size = 64;
  // Std of the classifier weights: large enough that keep probabilities spread over (0, 1).
  double classifier_std = 0.2;
  int num_new_tokens = 100;  // [NEW0].. as LLMLingua-2 adds them
};

// The config a tiny classifier gets (vocab_size filled in by write_tiny_classifier).
EncoderConfig tiny_classifier_config(const TinyClassifierOptions& options);

// Creates out_dir if needed and writes the model there (config.json last, so a directory with a
// config.json is complete). Returns the path of model.safetensors. Deterministic per seed, except
// that the SentencePiece trainer's output is only as deterministic as libsentencepiece is.
std::string write_tiny_classifier(const std::string& out_dir, const TinyClassifierOptions& options);

}  // namespace elm::model
