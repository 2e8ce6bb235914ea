// Which bank sharding balances the retrieval load: for router outputs of a batch, the requests
// each owner serves (after each requester deduplicates its indices) under block and cyclic
// sharding, as max/mean over owners (1.0 = perfect balance), and the bank bytes each rank holds.
// Single process, no timing: the all-to-all's slowest owner sets the pace, so max/mean is what
// decides the default. One JSON line per (router, N, g); never asserts anything.
//
// Routers: "uniform" (random queries and keys: the router before training) and "skewed" (queries
// drawn around a few centres, the way a trained router concentrates on popular entries).
//
//   bench_bank_sharding [--knowledge-dim 128] [--batch 8] [--tokens 256] [--candidates 8]
//                       [--internal 32] [--requesters 4] [--centres 16] [--seed 1]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/error.h"
#include "core/parse.h"
#include "dist/bank_sharding.h"
#include "memory/router.h"

namespace {

using elm::dist::BankSharding;
using elm::dist::ShardLayout;

struct Args {
  int64_t knowledge_dim = 128, batch = 8, tokens = 256, candidates = 8, internal = 32, requesters = 4, centres = 16;
  uint64_t seed = 1;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const int64_t v = elm::parse_int(argv[i + 1], k);
    if (k == "--knowledge-dim") a.knowledge_dim = v;
    else if (k == "--batch") a.batch = v;
    else if (k == "--tokens") a.tokens = v;
    else if (k == "--candidates") a.candidates = v;
    else if (k == "--internal") a.internal = v;
    else if (k == "--requesters") a.requesters = v;
    else if (k == "--centres") a.centres = v;
    else if (k == "--seed") a.seed = static_cast<uint64_t>(v);
    else elm::fail("bench_bank_sharding: unknown option ", k);
  }
  return a;
}

// Candidate indices [B*T, C] of one requester's batch.
torch::Tensor route(const Args& a, int64_t n, const std::string& router, const torch::Tensor& keys, at::Generator& gen) {
  const int64_t q = a.batch * a.tokens;
  torch::Tensor queries;
  if (router == "uniform") {
    queries = torch::randn({q, a.knowledge_dim}, gen);
  } else {
    auto centres = torch::randn({a.centres, a.knowledge_dim}, gen);
    auto pick = torch::randint(0, a.centres, {q}, gen, torch::kInt64);
    queries = centres.index_select(0, pick) + 0.3 * torch::randn({q, a.knowledge_dim}, gen);
  }
  const int64_t k = std::min<int64_t>(a.internal, static_cast<int64_t>(std::llround(std::sqrt(double(n)))));
  auto out = elm::memory::product_key_search(queries, keys, torch::tensor(10.0), k, std::min(a.candidates, k * k));
  return out.indices;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    torch::NoGradGuard no_grad;
    const int64_t L = 16;
    for (int64_t n : {int64_t{4096}, int64_t{1} << 20, int64_t{1} << 24}) {
      const int64_t side = static_cast<int64_t>(std::llround(std::sqrt(double(n))));
      auto gen = at::detail::createCPUGenerator(a.seed);
      auto keys = torch::randn({2, side, a.knowledge_dim / 2}, gen);
      for (const std::string router : {"uniform", "skewed"}) {
        // Every requester's unique indices (what it sends after deduplication).
        std::vector<torch::Tensor> asks;
        int64_t requested = 0, unique = 0;
        for (int64_t r = 0; r < a.requesters; ++r) {
          auto idx = route(a, n, router, keys, gen).reshape({-1});
          requested += idx.numel();
          asks.push_back(std::get<0>(at::_unique2(idx)));
          unique += asks.back().numel();
        }
        for (int g : {1, 2, 4}) {
          std::printf("{\"bench\":\"bank_sharding\",\"router\":\"%s\",\"knowledge_num\":%lld,\"g\":%d", router.c_str(),
                      static_cast<long long>(n), g);
          for (BankSharding s : {BankSharding::kBlock, BankSharding::kCyclic}) {
            ShardLayout layout(n, g, s);
            auto load = torch::zeros({g}, torch::kInt64);
            for (const auto& ask : asks) load += torch::bincount(layout.owner(ask), {}, g);
            const double mean = load.to(torch::kDouble).mean().item<double>();
            const double max = load.max().item<int64_t>();
            std::printf(",\"%s_max_over_mean\":%.4f", elm::dist::sharding_name(s), mean > 0 ? max / mean : 1.0);
          }
          const int64_t rows = (n + g - 1) / g;
          std::printf(",\"bank_bytes_per_rank\":%lld,\"requests\":%lld,\"unique_requests\":%lld,"
                      "\"bytes_per_query\":%.1f}\n",
                      static_cast<long long>(rows * L * 4 + rows), static_cast<long long>(requested),
                      static_cast<long long>(unique),
                      // indices out (8 B) and rows back (L + 1 int32) per unique request, per query
                      double(unique) * (8 + (L + 1) * 4) / double(a.requesters * a.batch * a.tokens));
        }
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_bank_sharding: %s\n", e.what());
    return 1;
  }
}
