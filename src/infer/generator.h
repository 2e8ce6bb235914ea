#pragma once
// Autoregressive generation over a CausalLM (a plain Qwen3 or an ExplicitLM): the prompts of a
// batch are left-padded into one [B, T] prefill, then every unfinished row gets one token per step,
// with the decode state (KV cache; default) or by recomputing the whole sequences each step
// (baseline). Rows stop independently (a stop id or max_new_tokens); a finished row is fed padding
// that attends to nothing and changes nothing.
//
// Each row samples from its own seeded Sampler, so a prompt's output does not depend on which other
// prompts share its batch (up to float rounding in batched matmuls under greedy decoding).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "infer/causal_lm.h"
#include "infer/sampler.h"
#include "model/qwen3_model.h"

namespace elm::infer {

struct GenerateOptions {
  int64_t max_new_tokens = 64;
  SamplingOptions sampling;  // sampling.seed seeds row 0; row r uses row_seeds[r] or seed + r
  bool use_kv_cache = true;
  // With the KV cache, the prompt is prefilled in chunks of this many tokens (0 = all at once):
  // attention scores take O(chunk x context) memory instead of O(prompt^2).
  int64_t prefill_chunk = 512;
  int64_t pad_id = 0;                            // id fed to padding positions (masked out)
  std::vector<int64_t> stop_ids;                 // a row ends after emitting one of these
  std::function<void(size_t row, int64_t token)> on_token;  // streaming: each new token as it is chosen
};

struct GenerateResult {
  std::vector<int64_t> tokens;   // new tokens only (including a stop token if one ended it)
  std::string stop_reason;       // "stop_token" or "max_new_tokens"
  double prefill_seconds = 0;    // of the whole batch
  double decode_seconds = 0;     // of the whole batch
  std::vector<torch::Tensor> step_logits;  // [V] f32 per chosen token, when keep_logits is set
};

// One result per prompt, in order. row_seeds (optional, one per prompt) replace seed + r, so a
// prompt keeps its seed whatever batch or rank it lands in.
std::vector<GenerateResult> generate_batch(CausalLM& lm, const std::vector<std::vector<int64_t>>& prompts,
                                           const GenerateOptions& options, bool keep_logits = false,
                                           const std::vector<uint64_t>& row_seeds = {});

// One prompt on a plain Qwen3.
GenerateResult generate(const model::Qwen3Model& model, const std::vector<int64_t>& prompt,
                        const GenerateOptions& options, bool keep_logits = false);

}  // namespace elm::infer
