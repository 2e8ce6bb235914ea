#include "memory/memory_config.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/config.h"
#include "core/error.h"

namespace elm::memory {

int64_t exact_sqrt(int64_t n) {
  if (n < 0 || n > kMaxKnowledgeNum) return -1;  // beyond 2^62 the squares below would overflow
  auto r = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n))));
  while (r * r > n) --r;
  while ((r + 1) * (r + 1) <= n) ++r;
  return r * r == n ? r : -1;
}

int64_t MemoryConfig::grid_size() const { return exact_sqrt(knowledge_num); }

const char* pooling_name(QueryPooling pooling) {
  switch (pooling) {
    case QueryPooling::kCausalPrefix: return "causal_prefix";
    case QueryPooling::kSequenceMean: return "sequence_mean";
    case QueryPooling::kWeightedPrefix: return "weighted_prefix";
  }
  return "?";
}
const char* selection_name(SelectionMode mode) { return mode == SelectionMode::kCosine ? "cosine" : "learned"; }

std::vector<int64_t> parse_memory_layers(const std::string& text, int64_t num_layers) {
  std::string t;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c)) && c != '[' && c != ']' && c != '"') t += c;
  }
  std::vector<int64_t> out;
  if (t == "all") {
    for (int64_t i = 0; i < num_layers; ++i) out.push_back(i);
    return out;
  }
  ELM_CHECK(!t.empty(), "memory.layers: expected \"all\" or a list of layer indices like \"0,5\", got '", text, "'");
  size_t pos = 0;
  while (pos <= t.size()) {
    const size_t comma = t.find(',', pos);
    const std::string item = t.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    ELM_CHECK(!item.empty() && std::all_of(item.begin(), item.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }),
              "memory.layers: '", item, "' in '", text, "' is not a layer index (expected \"all\" or a list like \"0,5\")");
    int64_t v = -1;
    try {
      v = std::stoll(item);
    } catch (const std::exception&) {
      fail("memory.layers: '", item, "' in '", text, "' is not a layer index");
    }
    ELM_CHECK(v < num_layers, "memory.layers: layer ", v, " does not exist (the backbone has ", num_layers,
              " layers, 0..", num_layers - 1, ")");
    out.push_back(v);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void MemoryConfig::validate() const {
  ELM_CHECK(hidden_size > 0, "memory: hidden size must be positive");
  const int64_t n = grid_size();
  ELM_CHECK(n > 0, "model.knowledge_num = ", knowledge_num,
            " must be a perfect square (the product-key grid is sqrt(N) x sqrt(N))");
  ELM_CHECK(knowledge_length >= 1, "model.knowledge_length must be >= 1, got ", knowledge_length);
  ELM_CHECK(knowledge_dim >= 2 && knowledge_dim % 2 == 0, "model.knowledge_dim = ", knowledge_dim,
            " must be even (the query is split in two halves)");
  ELM_CHECK(num_candidates_internal >= 1 && num_candidates_internal <= n, "model.num_candidates_internal = ",
            num_candidates_internal, " must be in [1, sqrt(model.knowledge_num) = ", n, "]");
  ELM_CHECK(num_candidates >= 1 && num_candidates <= num_candidates_internal * num_candidates_internal,
            "model.num_candidates = ", num_candidates, " must be in [1, num_candidates_internal^2 = ",
            num_candidates_internal * num_candidates_internal, "]");
  ELM_CHECK(num_selected >= 1 && num_selected <= num_candidates, "model.num_selected = ", num_selected,
            " must be in [1, model.num_candidates = ", num_candidates, "]");
  ELM_CHECK(gumbel_temperature > 0, "model.gumbel_temperature must be > 0, got ", gumbel_temperature);
  ELM_CHECK(gate_rank >= 0 && fusion_rank >= 0, "model.gate_rank and model.fusion_rank must be >= 0");
  ELM_CHECK(dropout >= 0 && dropout < 1, "model.dropout must be in [0, 1), got ", dropout);
  ELM_CHECK(!layers.empty(), "memory.layers selects no layer");
}

MemoryConfig MemoryConfig::from_config(const Config& config, int64_t hidden_size, int64_t num_layers,
                                       double rms_norm_eps) {
  MemoryConfig m;
  m.hidden_size = hidden_size;
  m.rms_norm_eps = rms_norm_eps;
  m.knowledge_num = config.get_int("model.knowledge_num");
  m.knowledge_length = config.get_int("model.knowledge_length");
  m.knowledge_dim = config.get_int("model.knowledge_dim");
  m.num_candidates = config.get_int("model.num_candidates");
  m.num_candidates_internal = config.get_int("model.num_candidates_internal");
  m.num_selected = config.get_int("model.num_selected");
  m.gumbel_temperature = config.get_float("model.gumbel_temperature");
  m.gate_rank = config.get_int("model.gate_rank");
  m.fusion_rank = config.get_int("model.fusion_rank");
  m.keys_path = config.get_string("model.keys_path");
  m.dropout = config.get_float("model.dropout");
  m.layers = parse_memory_layers(config.get_string("memory.layers"), num_layers);
  const std::string& pooling = config.get_string("memory.query_pooling");
  if (pooling == "causal_prefix") {
    m.pooling = QueryPooling::kCausalPrefix;
  } else if (pooling == "sequence_mean") {
    m.pooling = QueryPooling::kSequenceMean;
  } else if (pooling == "weighted_prefix") {
    m.pooling = QueryPooling::kWeightedPrefix;
  } else {
    fail("memory.query_pooling: unknown value '", pooling,
         "' (expected causal_prefix, sequence_mean or weighted_prefix)");
  }
  const std::string& selection = config.get_string("memory.selection");
  if (selection == "cosine") {
    m.selection = SelectionMode::kCosine;
  } else if (selection == "learned") {
    m.selection = SelectionMode::kLearned;
  } else {
    fail("memory.selection: unknown value '", selection, "' (expected cosine or learned)");
  }
  m.selection_add_router_score = config.get_bool("memory.selection_add_router_score");
  m.normalize_selected = config.get_bool("memory.normalize_selected");
  m.validate();
  return m;
}

}  // namespace elm::memory
