#pragma once
// Autoregressive generation over a Qwen3Model: one prefill over the prompt, then one token per
// step, with the KV cache (default) or by recomputing the whole sequence each step (baseline).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "infer/sampler.h"
#include "model/qwen3_model.h"

namespace elm::infer {

struct GenerateOptions {
  int64_t max_new_tokens = 64;
  SamplingOptions sampling;
  bool use_kv_cache = true;
  // With the KV cache, the prompt is prefilled in chunks of this many tokens (0 = all at once):
  // attention scores take O(chunk x context) memory instead of O(prompt^2).
  int64_t prefill_chunk = 512;
  std::vector<int64_t> stop_ids;                 // generation ends after emitting one of these
  std::function<void(int64_t token)> on_token;   // streaming callback, called for each new token
};

struct GenerateResult {
  std::vector<int64_t> tokens;   // new tokens only (including a stop token if one ended it)
  std::string stop_reason;       // "stop_token" or "max_new_tokens"
  double prefill_seconds = 0;
  double decode_seconds = 0;
  std::vector<torch::Tensor> step_logits;  // [V] f32 per chosen token, when keep_logits is set
};

GenerateResult generate(const model::Qwen3Model& model, const std::vector<int64_t>& prompt,
                        const GenerateOptions& options, bool keep_logits = false);

}  // namespace elm::infer
