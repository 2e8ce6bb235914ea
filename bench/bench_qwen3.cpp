// Qwen3 inference throughput at a configurable shape: prefill tokens/s, decode tokens/s with the
// KV cache, and the KV-cache speed-up over recomputing the whole sequence (--no-kv-cache) for the
// same greedy continuation, all measured in one run, for each prompt length given. Random
// weights, f32 or bf16. Prints one JSON line per measurement; never asserts timings.
//
// Decode with the cache streams every weight once per token (memory-bound: the 151,936-row
// lm_head alone is 311 MB in f32 at hidden 512), while recomputation costs grow with the
// context, so the speed-up grows with the prompt length; hence several lengths by default.
//
//   bench_qwen3 [--hidden 512] [--intermediate 1536] [--layers 8] [--heads 8] [--kv-heads 4]
//               [--head-dim 64] [--vocab 151936] [--prompt 32,256] [--new 256] [--dtype float32]
//               [--threads N] [--skip-baseline]
#include <chrono>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <string>

#include <torch/torch.h>

#include "core/error.h"
#include "bench_shape_options.h"
#include "core/parse.h"
#include "core/threads.h"
#include "infer/generator.h"
#include "model/qwen3_model.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Args {
  elm::model::Qwen3Config config;
  std::vector<int64_t> prompts = {32, 256};
  int64_t new_tokens = 256;
  std::string dtype = "float32";
  int threads = 0;
  bool skip_baseline = false;
};

Args parse(int argc, char** argv) {
  Args a;
  auto& c = a.config;
  c.hidden_size = 512;
  c.intermediate_size = 1536;
  c.num_hidden_layers = 8;
  c.num_attention_heads = 8;
  c.num_key_value_heads = 4;
  c.head_dim = 64;
  c.vocab_size = 151936;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--skip-baseline") {
      a.skip_baseline = true;
      continue;
    }
    ELM_CHECK(i + 1 < argc, k, " needs a value (see the header of bench/bench_qwen3.cpp)");
    const std::string v = argv[++i];
    if (elm::bench::apply_shape_option(k, v, c)) continue;
    if (k == "--prompt") a.prompts = elm::parse_id_list(v, k);
    else if (k == "--new") a.new_tokens = elm::parse_int(v, k);
    else if (k == "--dtype") a.dtype = v;
    else if (k == "--threads") a.threads = static_cast<int>(elm::parse_int(v, k));
    else elm::fail("unknown option ", k, " (see the header of bench/bench_qwen3.cpp)");
  }
  ELM_CHECK(!a.prompts.empty(), "--prompt needs at least one length");
  for (int64_t p : a.prompts) ELM_CHECK(p >= 1, "--prompt lengths must be >= 1, got ", p);
  ELM_CHECK(a.new_tokens >= 2, "--new must be >= 2, got ", a.new_tokens);
  c.validate("bench_qwen3 shape");
  int64_t longest = 0;
  for (int64_t p : a.prompts) longest = std::max(longest, p);
  c.max_position_embeddings = longest + a.new_tokens + 1;
  return a;
}

void run_prompt(const elm::model::Qwen3Model& model, const Args& args, int64_t prompt_len) {
  const auto& c = args.config;
  std::vector<int64_t> prompt(prompt_len);
  for (int64_t i = 0; i < prompt_len; ++i) prompt[i] = (i * 7919 + 13) % c.vocab_size;

  {  // Prefill: one forward over the prompt (warm-up first).
    torch::InferenceMode guard;
    elm::model::ForwardOptions opts;
    opts.logits = elm::model::LogitsMode::kLast;
    auto ids = torch::tensor(prompt, torch::kInt64).unsqueeze(0);
    model.forward(ids, opts);
    const int reps = 5;
    const auto t0 = Clock::now();
    for (int r = 0; r < reps; ++r) model.forward(ids, opts);
    const double s = seconds_since(t0) / reps;
    std::printf("{\"bench\":\"prefill\",\"tokens\":%lld,\"seconds\":%.6f,\"tokens_per_s\":%.1f}\n",
                (long long)prompt_len, s, prompt_len / s);
  }

  elm::infer::GenerateOptions options;
  options.max_new_tokens = args.new_tokens;
  options.sampling.greedy = true;
  const auto cached = elm::infer::generate(model, prompt, options);
  const double kv_tps = (args.new_tokens - 1) / cached.decode_seconds;
  std::printf("{\"bench\":\"decode_kv_cache\",\"prompt_tokens\":%lld,\"new_tokens\":%lld,\"seconds\":%.4f,\"tokens_per_s\":%.1f}\n",
              (long long)prompt_len, (long long)args.new_tokens, cached.decode_seconds, kv_tps);
  std::fflush(stdout);
  if (args.skip_baseline) return;

  options.use_kv_cache = false;
  const auto recomputed = elm::infer::generate(model, prompt, options);
  const double base_tps = (args.new_tokens - 1) / recomputed.decode_seconds;
  std::printf("{\"bench\":\"decode_no_kv_cache\",\"prompt_tokens\":%lld,\"new_tokens\":%lld,\"seconds\":%.4f,\"tokens_per_s\":%.1f}\n",
              (long long)prompt_len, (long long)args.new_tokens, recomputed.decode_seconds, base_tps);
  std::printf("{\"bench\":\"kv_cache_speedup\",\"prompt_tokens\":%lld,\"new_tokens\":%lld,\"ratio_vs_no_kv_cache\":%.2f,\"same_tokens\":%s}\n",
              (long long)prompt_len, (long long)args.new_tokens, recomputed.decode_seconds / cached.decode_seconds,
              cached.tokens == recomputed.tokens ? "true" : "false");
}

}  // namespace

int main(int argc, char** argv) try {
  const Args args = parse(argc, argv);
  const int threads = elm::resolve_thread_count(args.threads);
  torch::set_num_threads(threads);
  const auto dtype = elm::model::parse_compute_dtype(args.dtype);
  const elm::model::Qwen3Model model(args.config, elm::model::random_qwen3_weights(args.config, 1), dtype);
  const auto& c = args.config;
  std::printf(
      "{\"bench\":\"qwen3_shape\",\"hidden\":%lld,\"intermediate\":%lld,\"layers\":%lld,\"heads\":%lld,"
      "\"kv_heads\":%lld,\"head_dim\":%lld,\"vocab\":%lld,\"dtype\":\"%s\",\"threads\":%d}\n",
      (long long)c.hidden_size, (long long)c.intermediate_size, (long long)c.num_hidden_layers,
      (long long)c.num_attention_heads, (long long)c.num_key_value_heads, (long long)c.head_dim,
      (long long)c.vocab_size, args.dtype.c_str(), threads);

  for (const int64_t prompt_len : args.prompts) run_prompt(model, args, prompt_len);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_qwen3: %s\n", e.what());
  return 1;
}
