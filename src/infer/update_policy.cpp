#include "infer/update_policy.h"

#include <array>
#include <utility>

#include "core/error.h"

namespace elm::infer {
namespace {

constexpr std::array<std::pair<const char*, UpdatePolicy>, 6> kPolicies = {{
    {"fifo", UpdatePolicy::kFifo},
    {"lru", UpdatePolicy::kLru},
    {"random", UpdatePolicy::kRandom},
    {"similarity", UpdatePolicy::kSimilarity},
    {"importance", UpdatePolicy::kImportance},
    {"route", UpdatePolicy::kRoute},
}};

}  // namespace

UpdatePolicy parse_update_policy(const std::string& name) {
  for (const auto& [n, p] : kPolicies) {
    if (name == n) return p;
  }
  fail("unknown bank update policy \"", name, "\"; expected one of fifo, lru, random, similarity, importance, route");
}

const char* update_policy_name(UpdatePolicy policy) {
  for (const auto& [n, p] : kPolicies) {
    if (p == policy) return n;
  }
  return "?";
}

}  // namespace elm::infer
