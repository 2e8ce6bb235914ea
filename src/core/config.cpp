#include "core/config.h"

#include "core/atomic_file.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <toml++/toml.h>

#include "core/error.h"

namespace elm {

namespace {

constexpr int kLayerDefault = 0;
constexpr int kLayerFile = 1;
constexpr int kLayerCli = 2;
constexpr int kLayerProgram = 3;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

const char* expected_text(ConfigType type) {
  switch (type) {
    case ConfigType::Bool: return "a boolean (true or false)";
    case ConfigType::Int: return "an integer";
    case ConfigType::Float: return "a number";
    case ConfigType::String: return "a string";
    case ConfigType::IntList: return "an array of integers";
    case ConfigType::StringList: return "an array of strings";
  }
  return "?";
}

const char* toml_type_text(toml::node_type t) {
  switch (t) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
  }
  return "?";
}

// Converts a TOML node to a value of `type`; on mismatch returns nullopt and sets `actual`.
std::optional<ConfigValue> from_node(const toml::node& node, ConfigType type, std::string& actual) {
  actual = toml_type_text(node.type());
  switch (type) {
    case ConfigType::Bool:
      if (auto v = node.as_boolean()) return ConfigValue(v->get());
      return std::nullopt;
    case ConfigType::Int:
      if (auto v = node.as_integer()) return ConfigValue(static_cast<std::int64_t>(v->get()));
      return std::nullopt;
    case ConfigType::Float:
      if (auto v = node.as_floating_point()) return ConfigValue(v->get());
      if (auto v = node.as_integer()) return ConfigValue(static_cast<double>(v->get()));
      return std::nullopt;
    case ConfigType::String:
      if (auto v = node.as_string()) return ConfigValue(v->get());
      return std::nullopt;
    case ConfigType::IntList: {
      auto arr = node.as_array();
      if (!arr) return std::nullopt;
      std::vector<std::int64_t> out;
      for (std::size_t i = 0; i < arr->size(); ++i) {
        auto v = (*arr)[i].as_integer();
        if (!v) {
          actual = str_cat("an array whose element ", i, " is ", toml_type_text((*arr)[i].type()));
          return std::nullopt;
        }
        out.push_back(v->get());
      }
      return ConfigValue(std::move(out));
    }
    case ConfigType::StringList: {
      auto arr = node.as_array();
      if (!arr) return std::nullopt;
      std::vector<std::string> out;
      for (std::size_t i = 0; i < arr->size(); ++i) {
        auto v = (*arr)[i].as_string();
        if (!v) {
          actual = str_cat("an array whose element ", i, " is ", toml_type_text((*arr)[i].type()));
          return std::nullopt;
        }
        out.push_back(v->get());
      }
      return ConfigValue(std::move(out));
    }
  }
  return std::nullopt;
}

// Parses "v = TEXT" with toml++ and returns the node's value as `type`.
ConfigValue parse_toml_literal(std::string_view text, ConfigType type) {
  toml::table t;
  try {
    const std::string doc = str_cat("v = ", text, "\n");
    t = toml::parse(std::string_view(doc), std::string_view("override"));
  } catch (const toml::parse_error& e) {
    fail("not a valid TOML value: ", e.description());
  }
  const toml::node* node = t.get("v");
  ELM_CHECK(node, "not a valid TOML value");
  std::string actual;
  auto v = from_node(*node, type, actual);
  ELM_CHECK(v, "expected ", expected_text(type), ", got ", actual);
  return std::move(*v);
}

std::int64_t parse_int(std::string_view text) {
  std::string clean;
  std::string_view t = trim(text);
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  // Digit separators as in TOML: 1_048_576.
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '_' && i > 0 && i + 1 < t.size() && std::isdigit(static_cast<unsigned char>(t[i - 1])) &&
        std::isdigit(static_cast<unsigned char>(t[i + 1]))) {
      continue;
    }
    clean += t[i];
  }
  std::int64_t v = 0;
  auto res = std::from_chars(clean.data(), clean.data() + clean.size(), v);
  if (clean.empty() || res.ec != std::errc() || res.ptr != clean.data() + clean.size()) {
    if (res.ec == std::errc::result_out_of_range) fail("integer out of range: '", text, "'");
    fail("expected an integer, got '", text, "'");
  }
  return v;
}

double parse_float(std::string_view text) {
  std::string_view t = trim(text);
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  double v = 0;
  auto res = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || res.ec != std::errc() || res.ptr != t.data() + t.size()) {
    fail("expected a number, got '", text, "'");
  }
  return v;
}

bool parse_bool(std::string_view text) {
  std::string t(trim(text));
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "true" || t == "1") return true;
  if (t == "false" || t == "0") return false;
  fail("expected true, false, 1 or 0, got '", text, "'");
}

std::string parse_string(std::string_view text) {
  std::string_view t = trim(text);
  if (t.size() >= 2 && t.front() == '"' && t.back() == '"') {
    return std::get<std::string>(parse_toml_literal(t, ConfigType::String));
  }
  if (t.size() >= 2 && t.front() == '\'' && t.back() == '\'') {
    return std::string(t.substr(1, t.size() - 2));
  }
  return std::string(text);  // as-is
}

std::vector<std::string_view> split_commas(std::string_view t) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    auto comma = t.find(',', start);
    parts.push_back(trim(t.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                           : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return parts;
}

// A CLI token naming a key: segments of [A-Za-z0-9_-] separated by dots, at least two, starting
// with a letter.
bool looks_like_key(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s.front()))) return false;
  bool dot = false;
  char prev = 0;
  for (char c : s) {
    if (c == '.') {
      if (prev == '.' || prev == 0) return false;
      dot = true;
    } else if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      return false;
    }
    prev = c;
  }
  return dot && prev != '.';
}

}  // namespace

ConfigValue parse_config_value(std::string_view text, ConfigType type) {
  switch (type) {
    case ConfigType::Bool: return parse_bool(text);
    case ConfigType::Int: return parse_int(text);
    case ConfigType::Float: return parse_float(text);
    case ConfigType::String: return parse_string(text);
    case ConfigType::IntList:
    case ConfigType::StringList: {
      std::string_view t = trim(text);
      if (!t.empty() && t.front() == '[') return parse_toml_literal(t, type);
      if (type == ConfigType::IntList) {
        std::vector<std::int64_t> out;
        if (t.empty()) return out;
        for (auto part : split_commas(t)) out.push_back(parse_int(part));
        return out;
      }
      std::vector<std::string> out;
      if (t.empty()) return out;
      for (auto part : split_commas(t)) {
        ELM_CHECK(!part.empty(), "empty element in list '", text,
                  "' (write \"\" for an empty string)");
        out.push_back(parse_string(part));
      }
      return out;
    }
  }
  fail("unknown config type");
}

Config::Config() : Config(ConfigSchema::builtin()) {}

Config::Config(const ConfigSchema& schema) : schema_(&schema) {
  entries_.reserve(schema.keys().size());
  for (const auto& k : schema.keys()) entries_.push_back(Entry{k.default_value, "default", kLayerDefault});
}

Config Config::from_cli(const std::vector<std::string>& args, std::vector<std::string>* rest,
                        const ConfigSchema& schema) {
  Config cfg(schema);
  auto left = cfg.apply_files_and_cli(args);
  if (rest) *rest = std::move(left);
  return cfg;
}

std::vector<std::string> Config::apply_files_and_cli(const std::vector<std::string>& args) {
  std::vector<std::string> files, remaining;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--") {
      remaining.insert(remaining.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    if (a == "--config") {
      ELM_CHECK(i + 1 < args.size(), "--config needs a file name");
      files.push_back(args[++i]);
    } else if (starts_with(a, "--config=")) {
      files.push_back(a.substr(9));
      ELM_CHECK(!files.back().empty(), "--config= needs a file name");
    } else {
      remaining.push_back(a);
    }
  }
  for (const auto& f : files) load_file(f);
  return apply_cli(remaining);
}

void Config::load_file(const std::string& path) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  ELM_CHECK(std::filesystem::exists(status), "config file not found: ", path);
  ELM_CHECK(!std::filesystem::is_directory(status), "config file is a directory: ", path);
  std::ifstream in(path, std::ios::binary);
  ELM_CHECK(in, "cannot read config file ", path, ": ", std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  ELM_CHECK(!in.bad(), "cannot read config file ", path);
  load_toml(text.str(), path);
}

void Config::load_string(std::string_view toml_text, const std::string& source_name) {
  load_toml(toml_text, source_name);
}

void Config::load_toml(std::string_view text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(source));
  } catch (const toml::parse_error& e) {
    fail(source, ":", e.source().begin.line, ":", e.source().begin.column,
         ": TOML syntax error: ", e.description());
  }
  auto where = [&](const toml::node& n, const toml::key& k) {
    auto line = n.source().begin.line ? n.source().begin.line : k.source().begin.line;
    return str_cat(source, ":", line);
  };
  // Validate everything before changing anything, so a bad file leaves the config untouched.
  struct Pending {
    int index;
    ConfigValue value;
    std::string origin;
  };
  std::vector<Pending> pending;
  for (auto&& [section_key, section_node] : root) {
    const std::string section(section_key.str());
    auto* table = section_node.as_table();
    if (!table) {
      std::string hint;
      for (const auto& k : schema_->keys()) {
        if (k.key() == section) hint = k.name;
      }
      if (hint.empty()) hint = schema_->closest_key(section);
      fail(where(section_node, section_key), ": '", section,
           "' is not inside a [section]; config keys are section.key, written under a [section] "
           "table",
           hint.empty() ? std::string() : str_cat(" (did you mean '", hint, "'?)"));
    }
    if (!schema_->has_section(section) && table->empty()) {
      fail(where(section_node, section_key), ": ", schema_->unknown_section_message(section));
    }
    for (auto&& [key, node] : *table) {
      std::string name = str_cat(section, ".", key.str());
      int index = schema_->index_of(name);
      if (index < 0) fail(where(node, key), ": ", schema_->unknown_key_message(name));
      const auto& spec = schema_->keys()[static_cast<std::size_t>(index)];
      std::string actual;
      auto value = from_node(node, spec.type, actual);
      if (!value) {
        fail(where(node, key), ": config key '", name, "' expects ", expected_text(spec.type),
             " (", type_name(spec.type), "), got ", actual);
      }
      auto why = spec.check(*value);
      if (!why.empty()) {
        fail(where(node, key), ": config key '", name, "' = ", format_toml_value(*value), " ", why);
      }
      pending.push_back(Pending{index, std::move(*value), where(node, key)});
    }
  }
  for (auto& p : pending) store(p.index, std::move(p.value), p.origin, kLayerFile, p.origin);
}

void Config::apply_override(const std::string& assignment, const std::string& origin) {
  const std::string where = str_cat("config override '", assignment, "' (", origin, ")");
  auto eq = assignment.find('=');
  ELM_CHECK(eq != std::string::npos, where, ": expected section.key=value");
  std::string name(trim(std::string_view(assignment).substr(0, eq)));
  int index = schema_->index_of(name);
  if (index < 0) fail(where, ": ", schema_->unknown_key_message(name));
  const auto& spec = schema_->keys()[static_cast<std::size_t>(index)];
  ConfigValue value;
  try {
    value = parse_config_value(std::string_view(assignment).substr(eq + 1), spec.type);
  } catch (const Error& e) {
    fail(where, ": bad value for '", name, "' (", type_name(spec.type), "): ", e.what());
  }
  store(index, std::move(value), origin, kLayerCli, where);
}

std::vector<std::string> Config::apply_cli(const std::vector<std::string>& args) {
  std::vector<std::string> rest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    if (starts_with(a, "--") && a.size() > 2) {
      std::string body = a.substr(2);
      auto eq = body.find('=');
      std::string name = body.substr(0, eq);
      if (looks_like_key(name) && schema_->has_section(name.substr(0, name.find('.')))) {
        if (eq != std::string::npos) {
          apply_override(body, "command line");
        } else {
          ELM_CHECK(i + 1 < args.size(), "command line option '", a, "' needs a value");
          apply_override(str_cat(name, "=", args[i + 1]), "command line");
          ++i;
        }
        continue;
      }
    } else if (!starts_with(a, "-")) {
      auto eq = a.find('=');
      if (eq != std::string::npos && looks_like_key(std::string_view(a).substr(0, eq))) {
        apply_override(a, "command line");
        continue;
      }
    }
    rest.push_back(a);
  }
  return rest;
}

int Config::require_index(std::string_view key) const {
  int index = schema_->index_of(key);
  if (index < 0) fail("Config: ", schema_->unknown_key_message(key));
  return index;
}

const ConfigValue& Config::typed(std::string_view key, ConfigType type) const {
  int index = require_index(key);
  const auto& spec = schema_->keys()[static_cast<std::size_t>(index)];
  ELM_CHECK(spec.type == type, "Config: key '", key, "' has type ", type_name(spec.type),
            ", but was read as ", type_name(type));
  return entries_[static_cast<std::size_t>(index)].value;
}

bool Config::get_bool(std::string_view key) const {
  return std::get<bool>(typed(key, ConfigType::Bool));
}
std::int64_t Config::get_int(std::string_view key) const {
  return std::get<std::int64_t>(typed(key, ConfigType::Int));
}
double Config::get_float(std::string_view key) const {
  return std::get<double>(typed(key, ConfigType::Float));
}
const std::string& Config::get_string(std::string_view key) const {
  return std::get<std::string>(typed(key, ConfigType::String));
}
const std::vector<std::int64_t>& Config::get_int_list(std::string_view key) const {
  return std::get<std::vector<std::int64_t>>(typed(key, ConfigType::IntList));
}
const std::vector<std::string>& Config::get_string_list(std::string_view key) const {
  return std::get<std::vector<std::string>>(typed(key, ConfigType::StringList));
}
const ConfigValue& Config::get(std::string_view key) const {
  return entries_[static_cast<std::size_t>(require_index(key))].value;
}

void Config::set(std::string_view key, ConfigValue value, const std::string& origin) {
  int index = require_index(key);
  const auto& spec = schema_->keys()[static_cast<std::size_t>(index)];
  if (spec.type == ConfigType::Float && value_type(value) == ConfigType::Int) {
    value = static_cast<double>(std::get<std::int64_t>(value));
  }
  ELM_CHECK(value_type(value) == spec.type, "Config::set: key '", key, "' has type ",
            type_name(spec.type), ", got ", type_name(value_type(value)));
  store(index, std::move(value), origin, kLayerProgram, str_cat("Config::set (", origin, ")"));
}

void Config::store(int index, ConfigValue value, const std::string& origin, int layer,
                   const std::string& where) {
  const auto& spec = schema_->keys()[static_cast<std::size_t>(index)];
  auto why = spec.check(value);
  if (!why.empty()) {
    fail(where, ": config key '", spec.name, "' = ", format_toml_value(value), " ", why);
  }
  auto& e = entries_[static_cast<std::size_t>(index)];
  if (e.layer > layer) return;  // e.g. a file loaded after a command-line override
  e.value = std::move(value);
  e.origin = origin;
  e.layer = layer;
}

const std::string& Config::origin(std::string_view key) const {
  return entries_[static_cast<std::size_t>(require_index(key))].origin;
}

std::string Config::value_text(std::string_view key) const { return format_toml_value(get(key)); }

std::vector<std::string> Config::non_default_lines() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].layer == kLayerDefault) continue;
    out.push_back(str_cat(schema_->keys()[i].name, " = ", format_toml_value(entries_[i].value),
                          "  # ", entries_[i].origin));
  }
  return out;
}

std::string Config::to_toml(const std::string& header) const {
  std::ostringstream out;
  if (!header.empty()) {
    std::istringstream lines(header);
    std::string line;
    while (std::getline(lines, line)) out << (line.empty() ? "#" : "# " + line) << "\n";
  }
  bool first_section = true;
  for (const auto& section : schema_->sections()) {
    if (!first_section || !header.empty()) out << "\n";
    first_section = false;
    out << "[" << section << "]\n";
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      const auto& spec = schema_->keys()[i];
      if (spec.section() != section) continue;
      out << "# " << spec.help;
      auto c = spec.constraint_text();
      if (!c.empty()) out << " (" << c << ")";
      out << "\n" << spec.key() << " = " << format_toml_value(entries_[i].value) << "\n";
    }
  }
  return out.str();
}

void Config::write_toml(const std::string& path, const std::string& header) const {
  const std::string text = to_toml(header);
  write_file_atomic(path, text);
}

bool Config::operator==(const Config& other) const {
  if (schema_ != other.schema_ || entries_.size() != other.entries_.size()) return false;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (!(entries_[i].value == other.entries_[i].value)) return false;
  }
  return true;
}

}  // namespace elm
