#include "core/config_reference.h"

#include <sstream>

namespace elm {

std::string markdown_cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '|': out += "\\|"; break;
      case '<': out += "&lt;"; break;
      case '*': out += "\\*"; break;
      case '\n': out += ' '; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

// A code span that holds any text: a backtick inside needs a longer fence (CommonMark).
std::string code_span(const std::string& text) {
  std::string fence = "`";
  while (text.find(fence) != std::string::npos) fence += '`';
  const bool pad = !text.empty() && (text.front() == '`' || text.back() == '`');
  std::string inner = pad ? " " + text + " " : text;
  std::string escaped;
  for (char c : inner) escaped += c == '|' ? std::string("\\|") : std::string(1, c);
  return fence + escaped + fence;
}

}  // namespace

std::string config_reference_markdown(const ConfigSchema& schema) {
  std::ostringstream out;
  out << "# Config reference\n\n"
         "<!-- Generated from the config schema (src/core/config_keys.cpp) by `explicitlm config --reference`;\n"
         "     do not edit. Regenerate with tools/gen-config-reference; a unit test fails while this file\n"
         "     differs from the schema. -->\n\n"
         "Every key ExplicitLM reads, by section: its type, default, constraint and meaning. How keys are\n"
         "set (config files, `section.key=value` overrides, precedence, errors) and what the sections are\n"
         "for: [config.md](config.md). The same table in a terminal: `explicitlm config --list`.\n\n"
         "Types: `bool`, `int` (64-bit), `float` (double; an integer is accepted), `string`, `int list`,\n"
         "`string list`. " << schema.keys().size() << " keys in " << schema.sections().size() << " sections:";
  for (size_t i = 0; i < schema.sections().size(); ++i) {
    const std::string& s = schema.sections()[i];
    out << (i ? ", " : " ") << "[`[" << s << "]`](#" << s << ")";
  }
  out << ".\n";
  for (const std::string& section : schema.sections()) {
    out << "\n## `[" << section << "]`\n\n"
        << "| key | type | default | constraint | meaning |\n"
        << "|---|---|---|---|---|\n";
    for (const ConfigKey& k : schema.keys()) {
      if (k.section() != section) continue;
      out << "| " << code_span(k.name) << " | " << type_name(k.type) << " | "
          << code_span(format_toml_value(k.default_value)) << " | " << markdown_cell(k.constraint_text()) << " | "
          << markdown_cell(k.help) << " |\n";
    }
  }
  return out.str();
}

}  // namespace elm
