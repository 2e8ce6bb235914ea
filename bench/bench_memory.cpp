// The memory path's cost: forward+backward time of ExplicitLM (memory after the configured
// layers) vs the backbone alone, and candidate retrieval throughput (router + bank fetch +
// candidate embedding, queries/s). Random backbone and bank, f32 or bf16. One JSON line per
// measurement; never asserts timings.
//
// The baseline is the same backbone with a trainable zero offset added after the first memory
// layer, so its backward also runs through the backbone from the last layer down to that layer
// (what training the memory components must pay for anyway); the ratio is the memory path's
// own cost on top of that.
//
//   bench_memory [--hidden 256] [--intermediate 768] [--layers 4] [--heads 4] [--kv-heads 2]
//                [--head-dim 64] [--vocab 32000] [--batch 2] [--tokens 128] [--knowledge-num 65536]
//                [--knowledge-length 16] [--knowledge-dim 128] [--candidates 8] [--internal 32]
//                [--memory-layers all] [--pooling causal_prefix] [--selection cosine]
//                [--reps 3] [--dtype float32] [--threads N]
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "core/error.h"
#include "bench_random_bank.h"
#include "bench_shape_options.h"
#include "core/parse.h"
#include "core/threads.h"
#include "memory/bank_reader.h"
#include "memory/candidates.h"
#include "memory/explicit_lm.h"
#include "memory/pooling.h"
#include "memory/projection.h"
#include "model/qwen3_model.h"

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Args {
  elm::model::Qwen3Config config;
  elm::memory::MemoryConfig memory;
  std::string memory_layers = "all";
  int64_t batch = 2, tokens = 128, reps = 3;
  std::string dtype = "float32";
  int threads = 0;
};

Args parse(int argc, char** argv) {
  Args a;
  auto& c = a.config;
  c.hidden_size = 256;
  c.intermediate_size = 768;
  c.num_hidden_layers = 4;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 64;
  c.vocab_size = 32000;
  auto& m = a.memory;
  m.knowledge_num = 65536;
  m.knowledge_length = 16;
  m.knowledge_dim = 128;
  m.num_candidates = 8;
  m.num_candidates_internal = 32;
  m.dropout = 0.0;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    ELM_CHECK(i + 1 < argc, k, " needs a value (see the header of bench/bench_memory.cpp)");
    const std::string v = argv[++i];
    if (elm::bench::apply_shape_option(k, v, c)) continue;
    if (k == "--batch") a.batch = elm::parse_int(v, k);
    else if (k == "--tokens") a.tokens = elm::parse_int(v, k);
    else if (k == "--knowledge-num") m.knowledge_num = elm::parse_int(v, k);
    else if (k == "--knowledge-length") m.knowledge_length = elm::parse_int(v, k);
    else if (k == "--knowledge-dim") m.knowledge_dim = elm::parse_int(v, k);
    else if (k == "--candidates") m.num_candidates = elm::parse_int(v, k);
    else if (k == "--internal") m.num_candidates_internal = elm::parse_int(v, k);
    else if (k == "--memory-layers") a.memory_layers = v;
    else if (k == "--pooling") {
      ELM_CHECK(v == "causal_prefix" || v == "sequence_mean", "--pooling: causal_prefix or sequence_mean, got ", v);
      m.pooling = v == "causal_prefix" ? elm::memory::QueryPooling::kCausalPrefix : elm::memory::QueryPooling::kSequenceMean;
    } else if (k == "--selection") {
      ELM_CHECK(v == "cosine" || v == "learned", "--selection: cosine or learned, got ", v);
      m.selection = v == "cosine" ? elm::memory::SelectionMode::kCosine : elm::memory::SelectionMode::kLearned;
    } else if (k == "--reps") a.reps = elm::parse_int(v, k);
    else if (k == "--dtype") a.dtype = v;
    else if (k == "--threads") a.threads = static_cast<int>(elm::parse_int(v, k));
    else elm::fail("unknown option ", k, " (see the header of bench/bench_memory.cpp)");
  }
  ELM_CHECK(a.batch >= 1 && a.tokens >= 1 && a.reps >= 1, "--batch, --tokens and --reps must be >= 1");
  c.max_position_embeddings = a.tokens + 1;
  c.validate("bench_memory shape");
  m.hidden_size = c.hidden_size;
  m.rms_norm_eps = c.rms_norm_eps;
  m.layers = elm::memory::parse_memory_layers(a.memory_layers, c.num_hidden_layers);
  m.validate();
  return a;
}


// Mean seconds per call after one warm-up call.
template <class F>
double time_it(int64_t reps, F&& f) {
  f();
  const auto t0 = Clock::now();
  for (int64_t r = 0; r < reps; ++r) f();
  return seconds_since(t0) / static_cast<double>(reps);
}

}  // namespace

int main(int argc, char** argv) try {
  const Args a = parse(argc, argv);
  const int threads = elm::resolve_thread_count(a.threads);
  torch::set_num_threads(threads);
  const auto dtype = elm::model::parse_compute_dtype(a.dtype);
  auto backbone = std::make_shared<const elm::model::Qwen3Model>(a.config, elm::model::random_qwen3_weights(a.config, 1), dtype);
  auto bank = elm::bench::random_bank(a.config.vocab_size, a.memory.knowledge_num, a.memory.knowledge_length);
  elm::memory::ExplicitLM lm(backbone, bank, a.memory, 1);
  lm.train();
  lm.set_selection_seed(3);
  const auto& c = a.config;
  std::printf("{\"bench\":\"memory_shape\",\"hidden\":%lld,\"layers\":%lld,\"memory_layers\":%zu,\"vocab\":%lld,"
              "\"batch\":%lld,\"tokens\":%lld,\"knowledge_num\":%lld,\"knowledge_length\":%lld,\"knowledge_dim\":%lld,"
              "\"candidates\":%lld,\"internal\":%lld,\"pooling\":\"%s\",\"selection\":\"%s\",\"trainable_params\":%lld,"
              "\"dtype\":\"%s\",\"threads\":%d}\n",
              (long long)c.hidden_size, (long long)c.num_hidden_layers, a.memory.layers.size(), (long long)c.vocab_size,
              (long long)a.batch, (long long)a.tokens, (long long)a.memory.knowledge_num,
              (long long)a.memory.knowledge_length, (long long)a.memory.knowledge_dim,
              (long long)a.memory.num_candidates, (long long)a.memory.num_candidates_internal,
              elm::memory::pooling_name(a.memory.pooling), elm::memory::selection_name(a.memory.selection),
              (long long)lm.trainable_parameter_count(), a.dtype.c_str(), threads);
  std::fflush(stdout);

  auto ids = torch::randint(0, c.vocab_size, {a.batch, a.tokens}, elm::memory::make_generator(5), torch::kInt64);
  auto targets = ids.roll(-1, 1);
  auto ce = [&](const torch::Tensor& logits) {
    return torch::nn::functional::cross_entropy(logits.reshape({-1, c.vocab_size}), targets.reshape({-1}));
  };

  // Backbone alone (with the trainable offset after the first memory layer).
  auto offset = torch::zeros({c.hidden_size}, torch::kFloat32).requires_grad_(true);
  const int64_t first = a.memory.layers.front();
  const double base_s = time_it(a.reps, [&] {
    elm::model::ForwardOptions fo;
    fo.after_layer = [&](int64_t layer, const torch::Tensor& h, const elm::model::AttentionContext&) {
      return layer == first ? h + offset.to(h.scalar_type()) : h;
    };
    ce(backbone->forward(ids, fo).logits).backward();
    offset.mutable_grad().zero_();
  });
  const double mem_s = time_it(a.reps, [&] {
    auto out = lm.forward(ids);
    (ce(out.logits) + 0.1 * out.similarity_loss).backward();
    for (auto& p : lm.trainable_parameters()) {
      if (p.grad().defined()) p.mutable_grad().zero_();
    }
  });
  const double tokens = static_cast<double>(a.batch * a.tokens);
  std::printf("{\"bench\":\"train_step_backbone\",\"seconds\":%.5f,\"tokens_per_s\":%.1f}\n", base_s, tokens / base_s);
  std::printf("{\"bench\":\"train_step_memory\",\"seconds\":%.5f,\"tokens_per_s\":%.1f}\n", mem_s, tokens / mem_s);
  std::printf("{\"bench\":\"train_step_ratio\",\"memory_vs_backbone\":%.3f}\n", mem_s / base_s);
  std::fflush(stdout);

  // Retrieval: router + bank fetch + candidate embeddings, one query per token.
  {
    torch::NoGradGuard no_grad;
    auto layer = lm.layer(first);
    layer->eval();
    auto h = torch::randn({a.batch, a.tokens, c.hidden_size});
    auto query = elm::memory::pool_queries(layer->normalize(h), {}, elm::memory::QueryPooling::kCausalPrefix);
    const auto& table = backbone->weights().embed_tokens;
    const double route_s = time_it(a.reps, [&] { layer->router->forward(query); });
    auto routed = layer->router->forward(query);
    const double embed_s = time_it(a.reps, [&] { elm::memory::embed_candidates(*bank, routed.indices, table); });
    const double total = route_s + embed_s;
    std::printf("{\"bench\":\"retrieval\",\"queries\":%.0f,\"router_s\":%.5f,\"candidates_s\":%.5f,"
                "\"queries_per_s\":%.1f,\"router_queries_per_s\":%.1f}\n",
                tokens, route_s, embed_s, tokens / total, tokens / route_s);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_memory: %s\n", e.what());
  return 1;
}
