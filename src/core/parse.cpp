#include "core/parse.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "core/error.h"

namespace elm {

int64_t parse_int(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  ELM_CHECK(!text.empty() && end && *end == '\0' && errno == 0, what, ": '", text, "' is not an integer");
  return v;
}

double parse_float(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  ELM_CHECK(!text.empty() && end && *end == '\0' && errno == 0, what, ": '", text, "' is not a number");
  return v;
}

std::vector<int64_t> parse_id_list(const std::string& text, const std::string& what) {
  std::string body = text;
  auto strip = [](std::string s) {
    s.erase(0, s.find_first_not_of(" \t\n"));
    s.erase(s.find_last_not_of(" \t\n") + 1);
    return s;
  };
  body = strip(body);
  if (!body.empty() && body.front() == '[' && body.back() == ']') body = body.substr(1, body.size() - 2);
  std::vector<int64_t> ids;
  if (strip(body).empty()) return ids;
  std::stringstream in(body);
  std::string item;
  size_t index = 0;
  while (std::getline(in, item, ',')) {
    ids.push_back(parse_int(strip(item), str_cat(what, " element ", index)));
    ++index;
  }
  return ids;
}

}  // namespace elm
