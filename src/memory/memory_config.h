#pragma once
// The memory path's settings, resolved from an elm::Config (model.* and memory.* keys) and the
// backbone's shape, and checked once so the modules can rely on them.
#include <cstdint>
#include <string>
#include <vector>

namespace elm {
class Config;
}

namespace elm::memory {

// kWeightedPrefix: like kCausalPrefix, but each position weighs sigmoid(learned score of its h_mem)
// (pooling.h); the scores start at zero, so it starts as kCausalPrefix.
enum class QueryPooling { kCausalPrefix, kSequenceMean, kWeightedPrefix };
enum class SelectionMode { kCosine, kLearned };

struct MemoryConfig {
  int64_t hidden_size = 0;               // d, the backbone's hidden size
  double rms_norm_eps = 1e-6;            // for RMSNorm_mem and the selected-memory norm
  int64_t knowledge_num = 1048576;       // N, a perfect square
  int64_t knowledge_length = 16;         // L
  int64_t knowledge_dim = 128;           // router key dimension (even)
  int64_t num_candidates = 8;            // C
  int64_t num_candidates_internal = 32;  // top keys per half
  int64_t num_selected = 1;              // k entries selected per token among the C candidates
  double gumbel_temperature = 1.0;
  int64_t gate_rank = 0;                 // router LoRA rank (0 = full)
  int64_t fusion_rank = 0;               // fusion LoRA rank (0 = full)
  std::string keys_path;                 // router keys loaded frozen from this safetensors file
  double dropout = 0.1;
  std::vector<int64_t> layers;           // decoder layers followed by a memory layer, ascending
  QueryPooling pooling = QueryPooling::kCausalPrefix;
  SelectionMode selection = SelectionMode::kCosine;
  bool selection_add_router_score = false;
  bool normalize_selected = false;

  int64_t grid_size() const;  // sqrt(N)

  // model.* / memory.* keys; hidden size, eps and the layer count come from the backbone.
  static MemoryConfig from_config(const Config& config, int64_t hidden_size, int64_t num_layers, double rms_norm_eps);

  // Throws elm::Error naming the offending key when a value cannot work (N not a perfect square,
  // odd knowledge_dim, more candidates than the grid offers, ...).
  void validate() const;
};

// "all" -> 0..num_layers-1; "0,5" / "[0, 5]" -> {0, 5} (sorted, unique, each < num_layers).
std::vector<int64_t> parse_memory_layers(const std::string& text, int64_t num_layers);

// Largest bank size accepted anywhere (2^62): keeps every grid computation free of overflow.
inline constexpr int64_t kMaxKnowledgeNum = int64_t{1} << 62;
// sqrt(n) when n is a perfect square in [0, kMaxKnowledgeNum], else -1.
int64_t exact_sqrt(int64_t n);

const char* pooling_name(QueryPooling pooling);
const char* selection_name(SelectionMode mode);

}  // namespace elm::memory
