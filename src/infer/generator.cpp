#include "infer/generator.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "core/clock.h"
#include "core/error.h"

namespace elm::infer {
namespace {

torch::Tensor as_batch(const std::vector<int64_t>& ids) {
  return torch::tensor(ids, torch::kInt64).unsqueeze(0);
}

}  // namespace

GenerateResult generate(const model::Qwen3Model& model, const std::vector<int64_t>& prompt,
                        const GenerateOptions& options, bool keep_logits) {
  ELM_CHECK(!prompt.empty(), "generate: the prompt has no tokens");
  ELM_CHECK(options.max_new_tokens >= 0, "generate: max_new_tokens must be >= 0");
  ELM_CHECK(options.prefill_chunk >= 0, "generate: prefill_chunk must be >= 0");
  const int64_t prompt_len = static_cast<int64_t>(prompt.size());
  const int64_t max_positions = model.config().max_position_embeddings;
  ELM_CHECK(prompt_len <= max_positions && options.max_new_tokens <= max_positions - prompt_len,
            "generate: prompt (", prompt_len, " tokens) + max_new_tokens (", options.max_new_tokens,
            ") exceeds max_position_embeddings (", max_positions, ")");
  const int64_t total = prompt_len + options.max_new_tokens;

  torch::InferenceMode inference_mode;
  Sampler sampler(options.sampling);
  GenerateResult result;
  std::vector<int64_t> sequence = prompt;
  std::optional<model::KVCache> cache;
  if (options.use_kv_cache) cache.emplace(model.new_cache(1, std::max<int64_t>(total, 1)));

  model::ForwardOptions forward;
  forward.logits = model::LogitsMode::kLast;
  forward.cache = cache ? &*cache : nullptr;

  auto start = std::chrono::steady_clock::now();
  torch::Tensor logits;
  const int64_t chunk = (cache && options.prefill_chunk > 0) ? options.prefill_chunk : prompt_len;
  for (int64_t begin = 0; begin < prompt_len; begin += chunk) {
    const int64_t end = std::min(prompt_len, begin + chunk);
    logits = model.forward(as_batch({prompt.begin() + begin, prompt.begin() + end}), forward).logits[0];
  }
  result.prefill_seconds = seconds_since(start);
  result.stop_reason = "max_new_tokens";

  start = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    if (keep_logits) result.step_logits.push_back(logits.clone());
    const int64_t token = sampler.next(logits, sequence);
    result.tokens.push_back(token);
    sequence.push_back(token);
    if (options.on_token) options.on_token(token);
    if (std::find(options.stop_ids.begin(), options.stop_ids.end(), token) != options.stop_ids.end()) {
      result.stop_reason = "stop_token";
      break;
    }
    if (step + 1 == options.max_new_tokens) break;  // the last token needs no further forward
    // With the cache only the new token runs; without it the whole sequence is recomputed.
    logits = model.forward(as_batch(cache ? std::vector<int64_t>{token} : sequence), forward).logits[0];
  }
  result.decode_seconds = seconds_since(start);
  return result;
}

}  // namespace elm::infer
