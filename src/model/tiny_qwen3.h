#pragma once
// Writes a small random Qwen3 in HuggingFace layout (config.json, model.safetensors, and the
// tokenizer files), the stand-in for real weights in tests, benchmarks and the demo.
#include <cstdint>
#include <string>

#include "model/qwen3_config.h"
#include "model/qwen3_weights.h"

namespace elm::model {

struct TinyQwen3Options {
  Qwen3Config config = tiny_qwen3_config();
  std::string dtype = "bf16";     // weights on disk: bf16 or f32
  uint64_t seed = 0;
  std::string tokenizer_dir;      // tokenizer.json (+ tokenizer_config.json) copied from here; empty: none
  // Standard deviation of the token embedding (and an untied lm_head). HF's 0.02 suits wide models;
  // a narrow model whose tables stay frozen needs ~1/sqrt(hidden) so that tied logits can be sharp.
  double embed_std = 0.02;

  static Qwen3Config tiny_qwen3_config();  // hidden 64, 3 layers, 4 heads, 2 KV heads, head_dim 32
};

// Saves weights with their HF names as one safetensors file (bf16 or f32), atomically.
void save_qwen3_safetensors(const std::string& path, const Qwen3Weights& weights, const std::string& dtype);

// Creates out_dir if needed and writes the model there. Returns the path of model.safetensors.
std::string write_tiny_qwen3(const std::string& out_dir, const TinyQwen3Options& options);

}  // namespace elm::model
