#pragma once
// Where the CLI finds a tokenizer when none is named: the model directory, else the Qwen3
// tokenizer that tools/setup.sh exported into the source tree.
#include <string>

namespace elm::app {

// explicit_path if non-empty, else model_dir if it holds tokenizer.json, else the shipped one.
// Returns "" when none exists.
std::string resolve_tokenizer_path(const std::string& explicit_path, const std::string& model_dir);

}  // namespace elm::app
