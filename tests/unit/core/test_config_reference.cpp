// docs/config-reference.md against the config schema: the committed page must be exactly what the
// schema generates (every key, type, default, constraint and help), and no doc may name a key
// that does not exist. Regenerate the page with tools/gen-config-reference.
#include <filesystem>
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "core/config_reference.h"
#include "core/config_schema.h"
#include "core_test_util.h"

namespace elm {
namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

TEST(ConfigReference, DocsFileMatchesTheSchema) {
  const std::string path = std::string(ELM_SOURCE_DIR) + "/docs/config-reference.md";
  const std::string committed = test::read_file(path);
  ASSERT_FALSE(committed.empty()) << path << " is missing; run tools/gen-config-reference";
  const std::string generated = config_reference_markdown(ConfigSchema::builtin());
  if (committed == generated) return;
  // Name the first line that differs, so the failure says what changed.
  const auto a = split_lines(committed), b = split_lines(generated);
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  ADD_FAILURE() << path << " differs from the config schema (src/core/config_keys.cpp) at line " << i + 1
                << ":\n  file:   " << (i < a.size() ? a[i] : "<end of file>")
                << "\n  schema: " << (i < b.size() ? b[i] : "<end of file>")
                << "\nRun tools/gen-config-reference and commit docs/config-reference.md.";
}

TEST(ConfigReference, EveryKeyHasARowWithItsTypeDefaultConstraintAndHelp) {
  const std::string page = config_reference_markdown(ConfigSchema::builtin());
  for (const auto& k : ConfigSchema::builtin().keys()) {
    const std::string row = "| `" + k.name + "` | " + type_name(k.type) + " | `" + format_toml_value(k.default_value) +
                            "` | " + markdown_cell(k.constraint_text()) + " | " + markdown_cell(k.help) + " |\n";
    EXPECT_CONTAINS(page, row);
  }
  for (const auto& s : ConfigSchema::builtin().sections()) EXPECT_CONTAINS(page, "\n## `[" + s + "]`\n");
}

TEST(ConfigReference, CellsAndCodeSpansSurviveMarkdown) {
  ConfigSchema schema;
  schema.add(key_string("demo.tricky", "a|`b`", "Pipes | stay in the cell, <think> shows, *.h and *.cpp stay literal"));
  schema.add(key_int("demo.count", 3, "A count").at_least(1).at_most(8));
  const std::string page = config_reference_markdown(schema);
  // The default holds a backtick: a double-backtick span; the '|' escaped inside it.
  EXPECT_CONTAINS(page, "| `demo.tricky` | string | ``\"a\\|`b`\"`` |  | Pipes \\| stay in the cell, &lt;think> shows, "
                        "\\*.h and \\*.cpp stay literal |\n");
  EXPECT_CONTAINS(page, "| `demo.count` | int | `3` | in [1, 8] | A count |\n");
  EXPECT_CONTAINS(page, "2 keys in 1 sections: [`[demo]`](#demo).");
  EXPECT_EQ(page, config_reference_markdown(schema));  // deterministic
}

// A doc that names `section.key` in a code span of its own (`training.seed`, `model.dtype=x`)
// where section is a config section must name a key that exists: renamed or removed keys leave
// no stale mentions. Longer spans (error messages with deliberate misspellings) are not checked,
// nor file names (`model.safetensors`, `logging.h`).
TEST(ConfigReference, DocsNameOnlyKeysThatExist) {
  const auto& schema = ConfigSchema::builtin();
  const std::regex span("`([a-z][a-z0-9_]*)\\.([a-z][a-z0-9_]*)( ?=[^`]*)?`");
  const std::set<std::string> file_extensions = {"h", "cpp", "md", "toml", "json", "jsonl", "safetensors",
                                                 "h5", "txt", "sh", "py", "png", "log", "out"};
  std::vector<std::string> stale;
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(ELM_SOURCE_DIR) + "/docs")) {
    if (entry.path().extension() != ".md") continue;
    const auto lines = test::read_lines(entry.path().string());
    for (size_t i = 0; i < lines.size(); ++i) {
      for (std::sregex_iterator m(lines[i].begin(), lines[i].end(), span), end; m != end; ++m) {
        const std::string section = (*m)[1], name = section + "." + std::string((*m)[2]);
        if (!schema.has_section(section) || file_extensions.count((*m)[2])) continue;
        ++checked;
        if (!schema.find(name)) {
          stale.push_back(entry.path().filename().string() + ":" + std::to_string(i + 1) + ": " + name);
        }
      }
    }
  }
  EXPECT_GT(checked, 100);  // the docs do name keys this way: the pattern is not silently dead
  std::string list;
  for (const auto& s : stale) list += "\n  " + s;
  EXPECT_TRUE(stale.empty()) << "docs name config keys that do not exist:" << list;
}

}  // namespace
}  // namespace elm
