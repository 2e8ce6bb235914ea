#include "core/threads.h"

#include <sched.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

namespace elm {

int available_cores() {
#ifdef CPU_COUNT
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

int resolve_thread_count(int configured) {
  if (configured > 0) return configured;
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    std::string_view text(env);
    // Outer level of a nested list ("8,2"); surrounding blanks are tolerated.
    text = text.substr(0, text.find(','));
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    int n = 0;
    auto res = std::from_chars(text.data(), text.data() + text.size(), n);
    if (!text.empty() && res.ec == std::errc() && res.ptr == text.data() + text.size() && n > 0) {
      return n;
    }
  }
  return available_cores();
}

}  // namespace elm
