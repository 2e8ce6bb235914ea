#pragma once
// Wall-clock timestamps for files and names (UTC, so runs on different nodes agree).
#include <string>

namespace elm {

// The current UTC time formatted with strftime `format`, e.g. "%Y-%m-%dT%H:%M:%SZ" (ISO 8601,
// what bank files and checkpoints record) or "%Y%m%d-%H%M%S" (run directory names).
std::string utc_now(const char* format = "%Y-%m-%dT%H:%M:%SZ");

}  // namespace elm
