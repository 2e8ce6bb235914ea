// The auxiliary path's cost per request (infer/dual_path.h): the extraction (compressor + sentence
// split) of one request's text on its own, and what the dual path adds to serving a list of
// requests: serve() with and without it on the same model, requests and batches, the ratio measured
// in one run. Extractors: passthrough, and LLMLingua-2 on a random BERT token classifier (the tiny
// one written here, or --classifier DIR, e.g. one of mBERT's size from make-tiny-classifier). The
// model is the knowledge demo's shape with random weights (hidden 128, 4 layers, vocabulary 151,936,
// memory after layer 0) over a bank of fact sentences; the updater writes with --policy (similarity
// by default). One JSON line per measurement; never asserts timings.
//
//   bench_aux_path [--requests 32] [--batch 8] [--new 8] [--policy similarity] [--classifier DIR]
//                  [--reps 3] [--threads N]
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "bench_timing.h"
#include "core/build_info.h"
#include "core/config.h"
#include "core/error.h"
#include "core/parse.h"
#include "core/threads.h"
#include "infer/bank_updater.h"
#include "infer/compressor.h"
#include "infer/dual_path.h"
#include "infer/serving.h"
#include "memory/bank.h"
#include "memory/explicit_lm.h"
#include "model/tiny_classifier.h"
#include "model/tiny_qwen3.h"
#include "text/tokenizer.h"

namespace {

namespace fs = std::filesystem;

struct Args {
  int64_t requests = 32, batch = 8, new_tokens = 8, reps = 3;
  std::string policy = "similarity", classifier;
  int threads = 0;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    ELM_CHECK(i + 1 < argc, k, " needs a value (see the header of bench/bench_aux_path.cpp)");
    const std::string v = argv[++i];
    if (k == "--requests") a.requests = elm::parse_int(v, k);
    else if (k == "--batch") a.batch = elm::parse_int(v, k);
    else if (k == "--new") a.new_tokens = elm::parse_int(v, k);
    else if (k == "--policy") a.policy = v;
    else if (k == "--classifier") a.classifier = v;
    else if (k == "--reps") a.reps = elm::parse_int(v, k);
    else if (k == "--threads") a.threads = static_cast<int>(elm::parse_int(v, k));
    else elm::fail("unknown option ", k, " (see the header of bench/bench_aux_path.cpp)");
  }
  ELM_CHECK(a.requests >= 1 && a.batch >= 1 && a.new_tokens >= 1 && a.reps >= 1, "counts must be >= 1");
  return a;
}

const char* kCities[] = {"Oslo", "Lima", "Paris", "Tokyo", "Cairo", "Quito", "Berlin", "Madrid"};
const char* kJobs[] = {"baker", "pilot", "nurse", "farmer", "singer", "teacher", "painter", "doctor"};

std::string fact(int64_t i) {
  return "Person " + std::to_string(i) + " lives in " + kCities[i % 8] + ", works as a " + kJobs[(i / 8) % 8] +
         " and likes tea.";
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace elm;
  const Args a = parse(argc, argv);
  const int threads = resolve_thread_count(a.threads);
  torch::set_num_threads(threads);
  const auto tokenizer = text::Tokenizer::load(std::string(ELM_SOURCE_DIR) + "/data/tokenizers/qwen3");

  model::Qwen3Config c = model::TinyQwen3Options::tiny_qwen3_config();
  c.hidden_size = 128;
  c.intermediate_size = 384;
  c.num_hidden_layers = 4;
  c.head_dim = 32;
  auto backbone = std::make_shared<const model::Qwen3Model>(c, model::random_qwen3_weights(c, 1), torch::kFloat32);
  std::vector<std::string> facts;
  for (int64_t i = 0; i < 1000; ++i) facts.push_back(fact(i));
  memory::MemoryBank base = memory::build_bank(facts, tokenizer, 4096, 16, memory::default_pad_id(tokenizer));
  memory::MemoryConfig mc;
  mc.hidden_size = 128;
  mc.knowledge_num = 4096;
  mc.knowledge_length = 16;
  mc.knowledge_dim = 64;
  mc.num_candidates = 8;
  mc.num_candidates_internal = 16;
  mc.dropout = 0;
  mc.layers = {0};
  mc.pooling = memory::QueryPooling::kWeightedPrefix;
  mc.rms_norm_eps = c.rms_norm_eps;

  std::vector<infer::Request> requests;
  for (int64_t i = 0; i < a.requests; ++i) {
    requests.push_back(infer::make_text_request(
        "Did you hear? " + fact(5000 + i) + " That is new. What else is new?", tokenizer, {}, i));
  }
  std::string classifier = a.classifier;
  if (classifier.empty()) {
    classifier = (fs::temp_directory_path() / "bench_aux_path_bert").string();
    model::TinyClassifierOptions o;
    o.hidden_size = 64;
    o.num_layers = 2;
    o.num_heads = 2;
    o.intermediate_size = 128;
    model::write_tiny_classifier(classifier, o);
  }
  std::printf("{\"bench\":\"aux_path_shape\",\"requests\":%lld,\"batch\":%lld,\"new_tokens\":%lld,\"policy\":\"%s\","
              "\"classifier\":\"%s\",\"threads\":%d}\n",
              (long long)a.requests, (long long)a.batch, (long long)a.new_tokens, a.policy.c_str(), classifier.c_str(),
              threads);
  std::fflush(stdout);

  for (const std::string kind : {"passthrough", "llmlingua2"}) {
    Config cfg;
    cfg.set("extractor.kind", kind);
    if (kind == "llmlingua2") cfg.set("extractor.model_path", classifier);
    std::shared_ptr<const infer::Compressor> compressor = infer::make_compressor(cfg);
    const auto extract = infer::make_fact_extractor(compressor, 10);
    std::vector<double> per_request;
    for (const auto& r : requests) {
      extract(r.ingest);  // warm-up
      const double t0 = bench::now_ms();
      for (int64_t k = 0; k < a.reps; ++k) extract(r.ingest);
      per_request.push_back((bench::now_ms() - t0) / static_cast<double>(a.reps));
    }

    // Serving with and without the dual path, each on a fresh copy of the bank.
    infer::ServeOptions so;
    so.batch_size = a.batch;
    so.generate.max_new_tokens = a.new_tokens;
    so.generate.sampling.greedy = true;
    auto serve_ms = [&](bool dual_path, int64_t* writes) {
      memory::MemoryBank bank = base;
      bank.tokens = base.tokens.clone();
      bank.valid = base.valid.clone();
      auto reader = std::make_shared<memory::LocalBankReader>(memory::make_bank_reader(bank));
      memory::ExplicitLM lm(backbone, reader, mc, 1);
      infer::MemoryLM mlm(lm);
      infer::BankUpdaterOptions uo;
      uo.policy = infer::parse_update_policy(a.policy);
      uo.freeze_ratio = 0;
      infer::BankUpdater updater(bank, reader.get(), tokenizer, backbone->weights().embed_tokens, uo);
      infer::DualPath dual(extract, updater, bank, {});
      if (dual_path) mlm.set_observer(dual.observer());
      const double t0 = bench::now_ms();
      infer::serve(mlm, requests, so, MPI_COMM_NULL, nullptr, dual_path ? &dual : nullptr);
      const double ms = bench::now_ms() - t0;
      if (writes) {
        *writes = 0;
        for (const auto& u : dual.updates()) *writes += static_cast<int64_t>(u.at("writes").size());
      }
      return ms;
    };
    serve_ms(false, nullptr);  // warm-up
    std::vector<double> plain, dual;
    int64_t writes = 0;
    for (int64_t k = 0; k < a.reps; ++k) {
      plain.push_back(serve_ms(false, nullptr));
      dual.push_back(serve_ms(true, &writes));
    }
    const double p = bench::median(plain), d = bench::median(dual);
    std::printf("{\"bench\":\"aux_path\",\"extractor\":\"%s\",\"extract_ms_per_request\":%.3f,"
                "\"serve_ms\":%.1f,\"serve_dual_path_ms\":%.1f,\"dual_vs_plain\":%.3f,"
                "\"added_ms_per_request\":%.3f,\"facts_written\":%lld}\n",
                kind.c_str(), bench::median(per_request), p, d, d / p, (d - p) / static_cast<double>(a.requests),
                (long long)writes);
    std::fflush(stdout);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_aux_path: %s\n", e.what());
  return 1;
}
