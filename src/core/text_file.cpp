#include "core/text_file.h"

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace elm {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ELM_CHECK(in.good(), "cannot read ", path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace elm
