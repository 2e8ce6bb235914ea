#include "app/tokenizer_path.h"

#include <filesystem>

#include "core/build_info.h"

namespace elm::app {

std::string resolve_tokenizer_path(const std::string& explicit_path, const std::string& model_dir) {
  namespace fs = std::filesystem;
  if (!explicit_path.empty()) return explicit_path;
  if (!model_dir.empty() && fs::exists(fs::path(model_dir) / "tokenizer.json")) return model_dir;
  const fs::path shipped = fs::path(ELM_SOURCE_DIR) / "data/tokenizers/qwen3";
  if (fs::exists(shipped / "tokenizer.json")) return shipped.string();
  return "";
}

}  // namespace elm::app
