// Decode throughput of `explicitlm generate`'s loop (infer/generator.h): new tokens per second at
// batch 1 and batch 8, with memory (an ExplicitLM reading its bank at every decoded token) and
// without (the same backbone alone), with the KV cache; plus the KV cache vs recomputing the whole
// sequence each step at batch 1. Random weights and bank; the default shape is the knowledge demo's
// (hidden 128, 4 layers, the real 151,936-token vocabulary, memory after layer 0, learned selection
// with the router score). One JSON line per measurement; ratios come from the same run. Never
// asserts timings.
//
//   bench_decode [--hidden 128] [--intermediate 384] [--layers 4] [--heads 4] [--kv-heads 2]
//                [--head-dim 32] [--vocab 151936] [--knowledge-num 4096] [--knowledge-length 16]
//                [--knowledge-dim 64] [--candidates 8] [--internal 16] [--prompt 24] [--new 32]
//                [--batches 1,8] [--reps 3] [--threads N]
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "bench_random_bank.h"
#include "bench_shape_options.h"
#include "bench_timing.h"
#include "core/error.h"
#include "core/parse.h"
#include "core/threads.h"
#include "infer/causal_lm.h"
#include "infer/generator.h"
#include "memory/explicit_lm.h"
#include "memory/projection.h"
#include "model/tiny_qwen3.h"

namespace {

struct Args {
  elm::model::Qwen3Config config;
  elm::memory::MemoryConfig memory;
  int64_t prompt = 24, new_tokens = 32, reps = 3;
  std::vector<int64_t> batches = {1, 8};
  int threads = 0;
};

Args parse(int argc, char** argv) {
  Args a;
  auto& c = a.config;
  c = elm::model::TinyQwen3Options::tiny_qwen3_config();
  c.hidden_size = 128;
  c.intermediate_size = 384;
  c.num_hidden_layers = 4;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 32;
  c.vocab_size = 151936;
  auto& m = a.memory;
  m.knowledge_num = 4096;
  m.knowledge_length = 16;
  m.knowledge_dim = 64;
  m.num_candidates = 8;
  m.num_candidates_internal = 16;
  m.dropout = 0.0;
  m.pooling = elm::memory::QueryPooling::kWeightedPrefix;
  m.selection = elm::memory::SelectionMode::kLearned;
  m.selection_add_router_score = true;
  m.normalize_selected = true;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    ELM_CHECK(i + 1 < argc, k, " needs a value (see the header of bench/bench_decode.cpp)");
    const std::string v = argv[++i];
    if (elm::bench::apply_shape_option(k, v, c)) continue;
    if (k == "--knowledge-num") m.knowledge_num = elm::parse_int(v, k);
    else if (k == "--knowledge-length") m.knowledge_length = elm::parse_int(v, k);
    else if (k == "--knowledge-dim") m.knowledge_dim = elm::parse_int(v, k);
    else if (k == "--candidates") m.num_candidates = elm::parse_int(v, k);
    else if (k == "--internal") m.num_candidates_internal = elm::parse_int(v, k);
    else if (k == "--prompt") a.prompt = elm::parse_int(v, k);
    else if (k == "--new") a.new_tokens = elm::parse_int(v, k);
    else if (k == "--reps") a.reps = elm::parse_int(v, k);
    else if (k == "--threads") a.threads = static_cast<int>(elm::parse_int(v, k));
    else if (k == "--batches") a.batches = elm::parse_id_list(v, k);
    else {
      elm::fail("unknown option ", k, " (see the header of bench/bench_decode.cpp)");
    }
  }
  ELM_CHECK(a.prompt >= 1 && a.new_tokens >= 2 && a.reps >= 1 && !a.batches.empty(),
            "--prompt >= 1, --new >= 2, --reps >= 1 and --batches are required");
  c.max_position_embeddings = a.prompt + a.new_tokens + 1;
  c.validate("bench_decode shape");
  m.hidden_size = c.hidden_size;
  m.rms_norm_eps = c.rms_norm_eps;
  m.layers = {0};
  m.validate();
  return a;
}


// Median decode seconds (prefill excluded) of `reps` runs after one warm-up.
double decode_seconds(elm::infer::CausalLM& lm, const std::vector<std::vector<int64_t>>& prompts,
                      const elm::infer::GenerateOptions& options, int64_t reps) {
  elm::infer::generate_batch(lm, prompts, options);
  std::vector<double> times;
  for (int64_t r = 0; r < reps; ++r) times.push_back(elm::infer::generate_batch(lm, prompts, options).front().decode_seconds);
  return elm::bench::median(times);
}

}  // namespace

int main(int argc, char** argv) try {
  const Args a = parse(argc, argv);
  const int threads = elm::resolve_thread_count(a.threads);
  torch::set_num_threads(threads);
  auto backbone = std::make_shared<const elm::model::Qwen3Model>(a.config, elm::model::random_qwen3_weights(a.config, 1),
                                                                  torch::kFloat32);
  auto bank = elm::bench::random_bank(a.config.vocab_size, a.memory.knowledge_num, a.memory.knowledge_length);
  elm::memory::ExplicitLM explicit_lm(backbone, bank, a.memory, 1);
  elm::infer::MemoryLM with_memory(explicit_lm);
  elm::infer::BackboneLM without_memory(*backbone);
  std::printf("{\"bench\":\"decode_shape\",\"hidden\":%lld,\"layers\":%lld,\"vocab\":%lld,\"knowledge_num\":%lld,"
              "\"prompt\":%lld,\"new_tokens\":%lld,\"threads\":%d}\n",
              (long long)a.config.hidden_size, (long long)a.config.num_hidden_layers, (long long)a.config.vocab_size,
              (long long)a.memory.knowledge_num, (long long)a.prompt, (long long)a.new_tokens, threads);
  std::fflush(stdout);

  elm::infer::GenerateOptions options;
  options.max_new_tokens = a.new_tokens;
  options.sampling.greedy = true;
  auto gen = elm::memory::make_generator(5);
  // Every row decodes all new tokens (no stop ids), so tokens/s counts batch x (new - 1) forwards.
  for (int64_t batch : a.batches) {
    std::vector<std::vector<int64_t>> prompts;
    for (int64_t b = 0; b < batch; ++b) {
      auto ids = torch::randint(1, a.config.vocab_size, {a.prompt}, gen, torch::kInt64);
      prompts.emplace_back(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + a.prompt);
    }
    const double tokens = static_cast<double>(batch * (a.new_tokens - 1));
    const double plain = decode_seconds(without_memory, prompts, options, a.reps);
    const double mem = decode_seconds(with_memory, prompts, options, a.reps);
    std::printf("{\"bench\":\"decode\",\"batch\":%lld,\"backbone_tokens_per_s\":%.1f,\"memory_tokens_per_s\":%.1f,"
                "\"memory_vs_backbone_time\":%.3f}\n",
                (long long)batch, tokens / plain, tokens / mem, mem / plain);
    std::fflush(stdout);
    if (batch == a.batches.front()) {
      auto recompute = options;
      recompute.use_kv_cache = false;
      const double full = decode_seconds(with_memory, prompts, recompute, a.reps);
      std::printf("{\"bench\":\"decode_kv_cache\",\"batch\":%lld,\"memory_recompute_tokens_per_s\":%.1f,"
                  "\"kv_cache_speedup\":%.2f}\n",
                  (long long)batch, tokens / full, full / mem);
      std::fflush(stdout);
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_decode: %s\n", e.what());
  return 1;
}
