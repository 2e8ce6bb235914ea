#pragma once
// One exception type for every user-facing failure. Messages name the file, line, key, tensor or
// rank involved, so the CLI can print them as they are and exit non-zero.
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace elm {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Concatenates anything printable with operator<<: str_cat("tensor ", name, " has ", n, " dims").
template <class... Args>
std::string str_cat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

template <class... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(str_cat(std::forward<Args>(args)...));
}

// ELM_CHECK(cond, parts...): throw elm::Error with the parts when cond is false.
#define ELM_CHECK(cond, ...)                 \
  do {                                       \
    if (!(cond)) ::elm::fail(__VA_ARGS__);   \
  } while (0)

}  // namespace elm
