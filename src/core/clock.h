#pragma once
// Wall-clock timestamps for files and names (UTC, so runs on different nodes agree), and elapsed
// time on the steady clock for durations.
#include <chrono>
#include <string>

namespace elm {

// The current UTC time formatted with strftime `format`, e.g. "%Y-%m-%dT%H:%M:%SZ" (ISO 8601,
// what bank files and checkpoints record) or "%Y%m%d-%H%M%S" (run directory names).
std::string utc_now(const char* format = "%Y-%m-%dT%H:%M:%SZ");

// Seconds since `start` on the steady clock (durations: never affected by clock changes).
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace elm
