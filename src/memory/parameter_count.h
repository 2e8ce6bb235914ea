#pragma once
// The exact number of trainable parameters of one memory layer (memory_layer.h), computed from a
// MemoryConfig alone, without allocating the module: `explicitlm plan` sizes a Qwen3-4B run
// (about 92 million parameters per memory layer) on a machine that could not hold it.
//
// It mirrors the constructors of MemoryLayer, MemoryGate, RouterBlock, ContentMatcher,
// GatedMemoryFusion, Projection and RMSNorm; tests/unit/memory/test_parameter_count.cpp builds
// small layers of every variant and requires exact equality, so a change to a constructor that is
// not made here too fails there.
//
//   auto n = memory::count_memory_layer_parameters(config);  // per submodule
//   n.total();
#include <cstdint>

#include "memory/memory_config.h"

namespace elm::memory {

// Parameters of one Projection (projection.h): dense [out, in], or low rank A [rank, in] and
// B [out, rank]; plus the bias [out] when it has one.
int64_t projection_parameter_count(int64_t in_features, int64_t out_features, int64_t rank, bool bias);

// Trainable parameters of one memory layer, per submodule (the checkpoint names under
// memory.layers.<i>.). Submodules the config does not build count 0.
struct MemoryParameterCount {
  int64_t norm = 0;           // RMSNorm_mem
  int64_t router = 0;         // MemoryGate, keys included unless loaded frozen (model.keys_path)
  int64_t matcher = 0;        // memory.selection = learned
  int64_t pool_score = 0;     // memory.query_pooling = weighted_prefix
  int64_t selected_norm = 0;  // memory.normalize_selected
  int64_t fusion = 0;         // GatedMemoryFusion

  int64_t total() const { return norm + router + matcher + pool_score + selected_norm + fusion; }
};

// Validates `config` first (elm::Error naming the key, as the module's constructor would).
MemoryParameterCount count_memory_layer_parameters(const MemoryConfig& config);

}  // namespace elm::memory
