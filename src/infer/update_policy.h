#pragma once
// The bank updater's replacement policies (docs/bank-updates.md).
#include <string>

namespace elm::infer {

enum class UpdatePolicy { kFifo, kLru, kRandom, kSimilarity, kImportance, kRoute };

// "fifo", "lru", "random", "similarity", "importance", "route"; anything else is an error that
// names the value and the choices.
UpdatePolicy parse_update_policy(const std::string& name);
const char* update_policy_name(UpdatePolicy policy);

}  // namespace elm::infer
