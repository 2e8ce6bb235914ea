#include "infer/generator.h"

#include <algorithm>
#include <chrono>

#include "core/clock.h"
#include "core/error.h"
#include "model/left_padding.h"

namespace elm::infer {
namespace {

void check_prompts(const model::Qwen3Config& config, const std::vector<std::vector<int64_t>>& prompts,
                   const GenerateOptions& options) {
  ELM_CHECK(!prompts.empty(), "generate: no prompts");
  ELM_CHECK(options.max_new_tokens >= 0, "generate: max_new_tokens must be >= 0");
  ELM_CHECK(options.prefill_chunk >= 0, "generate: prefill_chunk must be >= 0");
  options.sampling.validate();
  const int64_t max_positions = config.max_position_embeddings;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto n = static_cast<int64_t>(prompts[i].size());
    ELM_CHECK(n > 0, "generate: prompt ", i, " has no tokens");
    ELM_CHECK(n <= max_positions && options.max_new_tokens <= max_positions - n, "generate: prompt ", i, " (", n,
              " tokens) + max_new_tokens (", options.max_new_tokens, ") exceeds max_position_embeddings (",
              max_positions, ")");
    for (size_t t = 0; t < prompts[i].size(); ++t) {
      ELM_CHECK(prompts[i][t] >= 0 && prompts[i][t] < config.vocab_size, "generate: prompt ", i, " token ", t,
                ": id ", prompts[i][t], " is outside the vocabulary [0, ", config.vocab_size, ")");
    }
  }
}

}  // namespace

std::vector<GenerateResult> generate_batch(CausalLM& lm, const std::vector<std::vector<int64_t>>& prompts,
                                           const GenerateOptions& options, bool keep_logits,
                                           const std::vector<uint64_t>& row_seeds) {
  check_prompts(lm.config(), prompts, options);
  ELM_CHECK(row_seeds.empty() || row_seeds.size() == prompts.size(), "generate: ", row_seeds.size(),
            " row seeds for ", prompts.size(), " prompts");
  torch::InferenceMode inference_mode;
  const auto B = static_cast<int64_t>(prompts.size());
  auto [ids, mask] = model::left_padded(prompts, options.pad_id);
  const int64_t T = ids.size(1);

  std::vector<Sampler> samplers;
  std::vector<std::vector<int64_t>> history = prompts;
  std::vector<GenerateResult> results(prompts.size());
  for (int64_t b = 0; b < B; ++b) {
    SamplingOptions s = options.sampling;
    s.seed = row_seeds.empty() ? options.sampling.seed + static_cast<uint64_t>(b) : row_seeds[static_cast<size_t>(b)];
    samplers.emplace_back(s);
    results[static_cast<size_t>(b)].stop_reason = "max_new_tokens";
  }

  std::unique_ptr<DecodeState> state;
  if (options.use_kv_cache) state = lm.new_state(B, std::max<int64_t>(T + options.max_new_tokens, 1));

  auto start = std::chrono::steady_clock::now();
  torch::Tensor logits;
  const int64_t chunk = (state && options.prefill_chunk > 0) ? options.prefill_chunk : T;
  for (int64_t begin = 0; begin < T; begin += chunk) {
    const int64_t width = std::min(T, begin + chunk) - begin;
    logits = lm.last_logits(ids.narrow(1, begin, width), mask.narrow(1, begin, width), state.get());
  }
  const double prefill_seconds = seconds_since(start);

  start = std::chrono::steady_clock::now();
  std::vector<bool> finished(prompts.size(), false);
  auto step_ids = torch::full({B, 1}, options.pad_id, torch::kInt64);
  auto step_mask = torch::zeros({B, 1}, torch::kInt64);
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    auto next = step_ids.accessor<int64_t, 2>();
    auto live = step_mask.accessor<int64_t, 2>();
    for (int64_t b = 0; b < B; ++b) {
      const auto r = static_cast<size_t>(b);
      next[b][0] = options.pad_id;
      live[b][0] = 0;
      if (finished[r]) continue;
      if (keep_logits) results[r].step_logits.push_back(logits[b].clone());
      const int64_t token = samplers[r].next(logits[b], history[r]);
      results[r].tokens.push_back(token);
      history[r].push_back(token);
      if (options.on_token) options.on_token(r, token);
      if (std::find(options.stop_ids.begin(), options.stop_ids.end(), token) != options.stop_ids.end()) {
        results[r].stop_reason = "stop_token";
        finished[r] = true;
        continue;
      }
      next[b][0] = token;
      live[b][0] = 1;
    }
    if (step + 1 == options.max_new_tokens) break;  // the last tokens need no further forward
    if (std::all_of(finished.begin(), finished.end(), [](bool f) { return f; })) break;
    if (state) {
      logits = lm.last_logits(step_ids, step_mask, state.get());
    } else {
      // Without a state the whole sequences run again, finished rows padded.
      ids = torch::cat({ids, step_ids}, 1);
      mask = torch::cat({mask, step_mask}, 1);
      logits = lm.last_logits(ids, mask, nullptr);
    }
  }
  const double decode_seconds = seconds_since(start);
  for (auto& r : results) {
    r.prefill_seconds = prefill_seconds;
    r.decode_seconds = decode_seconds;
  }
  return results;
}

GenerateResult generate(const model::Qwen3Model& model, const std::vector<int64_t>& prompt,
                        const GenerateOptions& options, bool keep_logits) {
  BackboneLM lm(model);
  return std::move(generate_batch(lm, {prompt}, options, keep_logits).front());
}

}  // namespace elm::infer
