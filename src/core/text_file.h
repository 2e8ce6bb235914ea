#pragma once
// Reading a whole (small) file: configs, manifests, JSON.
#include <string>

namespace elm {

// The file's bytes; elm::Error "cannot read PATH" when it cannot be opened.
std::string read_text_file(const std::string& path);

}  // namespace elm
