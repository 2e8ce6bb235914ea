#pragma once
// Scratch directories for tests, under the build tree.
#include <filesystem>
#include <string>

namespace elm::testing {

// A fresh, empty directory build/test-tmp/<group>/<name> (removed first if it exists).
inline std::filesystem::path scratch_dir(const std::string& group, const std::string& name) {
  const auto dir = std::filesystem::path(ELM_BINARY_DIR) / "test-tmp" / group / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace elm::testing
