#include "dist/pipeline_partition.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <numeric>
#include <set>

#include "core/error.h"
#include "core/parse.h"

namespace elm::dist {

PipelineCosts estimate_stage_costs(const model::Qwen3Config& c, const std::vector<int64_t>& memory_layers,
                                   int64_t hidden_size, int64_t seq_len, double logit_fraction) {
  ELM_CHECK(logit_fraction >= 0 && logit_fraction <= 1, "pipeline cost: logit fraction ", logit_fraction,
            " is not in [0, 1]");
  const double d = static_cast<double>(c.hidden_size);
  const double T = static_cast<double>(std::max<int64_t>(1, seq_len));
  // Multiply-adds per token of one decoder layer: q, k, v, o projections, attention over T keys, MLP.
  const double attention = d * static_cast<double>(c.q_dim() + 2 * c.kv_dim()) + static_cast<double>(c.q_dim()) * d +
                           2.0 * T * static_cast<double>(c.q_dim());
  const double mlp = 3.0 * d * static_cast<double>(c.intermediate_size);
  const double frozen_layer = 2.0 * (attention + mlp);  // forward + input gradients
  // A memory layer: router (about 9 d^2 with its two residual blocks) and fusion (5 d^2).
  const double m = static_cast<double>(hidden_size);
  const double memory_layer = 3.0 * 14.0 * m * m;
  const std::set<int64_t> with_memory(memory_layers.begin(), memory_layers.end());
  PipelineCosts costs;
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    costs.layer.push_back(frozen_layer + (with_memory.count(i) ? memory_layer : 0.0));
  }
  costs.embedding = 0.0;  // a gather
  costs.head = 2.0 * d * static_cast<double>(c.vocab_size) * logit_fraction;
  return costs;
}

int PipelinePartition::stage_of_layer(int64_t layer) const {
  for (size_t s = 0; s < stages.size(); ++s) {
    if (layer >= stages[s].first_layer && layer < stages[s].end_layer) return static_cast<int>(s);
  }
  fail("pipeline partition: no stage runs decoder layer ", layer);
}

std::string PipelinePartition::describe() const {
  double total = 0;
  for (const auto& s : stages) total += s.cost;
  std::string out;
  for (size_t i = 0; i < stages.size(); ++i) {
    const StageSpan& s = stages[i];
    char buf[160];
    char layers[48];
    if (s.layers() == 1) {
      std::snprintf(layers, sizeof layers, "layer %lld", static_cast<long long>(s.first_layer));
    } else {
      std::snprintf(layers, sizeof layers, "layers %lld-%lld", static_cast<long long>(s.first_layer),
                    static_cast<long long>(s.end_layer - 1));
    }
    std::snprintf(buf, sizeof buf, "%sstage %zu: %s%s%s (%.1f%% of the cost)", i ? " | " : "", i, layers,
                  s.embedding ? " + embedding" : "", s.head ? " + norm/lm_head" : "",
                  total > 0 ? 100.0 * s.cost / total : 0.0);
    out += buf;
  }
  return out;
}

namespace {

PipelinePartition from_bounds(const PipelineCosts& costs, const std::vector<int64_t>& bounds) {
  PipelinePartition p;
  const int stages = static_cast<int>(bounds.size()) - 1;
  for (int s = 0; s < stages; ++s) {
    StageSpan span;
    span.first_layer = bounds[static_cast<size_t>(s)];
    span.end_layer = bounds[static_cast<size_t>(s) + 1];
    span.embedding = s == 0;
    span.head = s == stages - 1;
    for (int64_t l = span.first_layer; l < span.end_layer; ++l) span.cost += costs.layer[static_cast<size_t>(l)];
    if (span.embedding) span.cost += costs.embedding;
    if (span.head) span.cost += costs.head;
    p.stages.push_back(span);
  }
  return p;
}

}  // namespace

PipelinePartition balanced_partition(const PipelineCosts& costs, int stages) {
  const auto L = static_cast<int64_t>(costs.layer.size());
  ELM_CHECK(stages >= 1, "parallel.pp = ", stages, " must be >= 1");
  ELM_CHECK(L >= stages, "parallel.pp = ", stages, ": the backbone has only ", L,
            " decoder layers and every pipeline stage needs at least one");
  // prefix[i] = cost of layers [0, i).
  std::vector<double> prefix(static_cast<size_t>(L) + 1, 0.0);
  for (int64_t i = 0; i < L; ++i) prefix[static_cast<size_t>(i) + 1] = prefix[static_cast<size_t>(i)] + costs.layer[static_cast<size_t>(i)];
  auto span_cost = [&](int64_t a, int64_t b, int s) {
    double c = prefix[static_cast<size_t>(b)] - prefix[static_cast<size_t>(a)];
    if (s == 0) c += costs.embedding;
    if (s == stages - 1) c += costs.head;
    return c;
  };
  const double inf = std::numeric_limits<double>::infinity();
  // best[s][j]: the least possible maximum stage cost when stages 0..s cover layers [0, j).
  std::vector<std::vector<double>> best(static_cast<size_t>(stages), std::vector<double>(static_cast<size_t>(L) + 1, inf));
  std::vector<std::vector<int64_t>> cut(static_cast<size_t>(stages), std::vector<int64_t>(static_cast<size_t>(L) + 1, 0));
  for (int64_t j = 1; j <= L; ++j) best[0][static_cast<size_t>(j)] = span_cost(0, j, 0);
  for (int s = 1; s < stages; ++s) {
    for (int64_t j = s + 1; j <= L; ++j) {
      for (int64_t i = s; i < j; ++i) {
        const double v = std::max(best[static_cast<size_t>(s) - 1][static_cast<size_t>(i)], span_cost(i, j, s));
        // Ties go to the earliest cut that reaches the optimum: deterministic on every rank.
        if (v < best[static_cast<size_t>(s)][static_cast<size_t>(j)] * (1 - 1e-12)) {
          best[static_cast<size_t>(s)][static_cast<size_t>(j)] = v;
          cut[static_cast<size_t>(s)][static_cast<size_t>(j)] = i;
        }
      }
    }
  }
  std::vector<int64_t> bounds(static_cast<size_t>(stages) + 1, 0);
  bounds[static_cast<size_t>(stages)] = L;
  for (int s = stages - 1; s >= 1; --s) bounds[static_cast<size_t>(s)] = cut[static_cast<size_t>(s)][static_cast<size_t>(bounds[static_cast<size_t>(s) + 1])];
  return from_bounds(costs, bounds);
}

PipelinePartition explicit_partition(const PipelineCosts& costs, int stages, const std::string& stage_layers) {
  const auto L = static_cast<int64_t>(costs.layer.size());
  const std::vector<int64_t> counts = parse_id_list(stage_layers, "parallel.stage_layers");
  for (int64_t n : counts) {
    ELM_CHECK(n >= 1, "parallel.stage_layers = \"", stage_layers, "\": every stage needs at least one layer, got ", n);
  }
  ELM_CHECK(static_cast<int>(counts.size()) == stages, "parallel.stage_layers = \"", stage_layers, "\" names ",
            counts.size(), " stages but parallel.pp = ", stages);
  const int64_t sum = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  ELM_CHECK(sum == L, "parallel.stage_layers = \"", stage_layers, "\" covers ", sum, " decoder layers but the backbone has ",
            L);
  std::vector<int64_t> bounds{0};
  for (int64_t n : counts) bounds.push_back(bounds.back() + n);
  return from_bounds(costs, bounds);
}

PipelinePartition make_partition(const PipelineCosts& costs, int stages, const std::string& stage_layers) {
  return stage_layers.empty() ? balanced_partition(costs, stages) : explicit_partition(costs, stages, stage_layers);
}

}  // namespace elm::dist
