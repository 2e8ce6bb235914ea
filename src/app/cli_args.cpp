#include "app/cli_args.h"

#include <algorithm>
#include <iostream>
#include <sstream>

#include "core/error.h"

namespace elm::app {

ArgParser::ArgParser(std::string command, std::string usage, std::string description)
    : command_(std::move(command)), usage_(std::move(usage)), description_(std::move(description)) {}

ArgParser& ArgParser::option(const std::string& name, const std::string& metavar, const std::string& help) {
  specs_.push_back({name, metavar, help, true});
  return *this;
}

ArgParser& ArgParser::flag(const std::string& name, const std::string& help) {
  specs_.push_back({name, "", help, false});
  return *this;
}

ArgParser& ArgParser::examples(const std::string& text) {
  examples_ = text;
  return *this;
}

ArgParser& ArgParser::notes(const std::string& text) {
  notes_ = text;
  return *this;
}

ArgParser& ArgParser::base_config(std::string toml_text, std::string source) {
  base_toml_ = std::move(toml_text);
  base_source_ = std::move(source);
  return *this;
}

const ArgParser::Spec* ArgParser::find(const std::string& name) const {
  for (const auto& s : specs_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

bool ArgParser::parse(const std::vector<std::string>& args) {
  std::vector<std::string> for_config;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << help();
      return false;
    }
    std::string name = arg, value;
    bool inline_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    const Spec* spec = find(name);
    if (!spec) {
      // Not ours: the configuration decides. `--config F` and `--section.key v` carry their value.
      for_config.push_back(arg);
      const bool dotted_option = arg.rfind("--", 0) == 0 && name.find('.') != std::string::npos;
      if ((name == "--config" || dotted_option) && !inline_value && i + 1 < args.size()) {
        for_config.push_back(args[++i]);
      }
      continue;
    }
    if (spec->takes_value && !inline_value) {
      ELM_CHECK(i + 1 < args.size(), "explicitlm ", command_, ": option ", name, " needs a value (", spec->metavar, ")");
      value = args[++i];
    } else if (!spec->takes_value && inline_value) {
      fail("explicitlm ", command_, ": flag ", name, " takes no value");
    }
    values_.emplace_back(name, value);
  }
  config_ = Config();
  if (!base_toml_.empty()) config_.load_string(base_toml_, base_source_);
  std::vector<std::string> rest = config_.apply_files_and_cli(for_config);
  if (!rest.empty()) {
    const std::string& arg = rest.front();
    if (arg.rfind("-", 0) == 0) fail("explicitlm ", command_, ": unknown option '", arg.substr(0, arg.find('=')), "' (see --help)");
    fail("explicitlm ", command_, ": unexpected argument '", arg, "' (see --help)");
  }
  return true;
}

std::string ArgParser::help() const {
  std::ostringstream out;
  out << "Usage: explicitlm " << command_ << " " << usage_ << "\n\n" << description_ << "\n\nOptions:\n";
  size_t width = 0;
  for (const auto& s : specs_) width = std::max(width, s.name.size() + (s.takes_value ? s.metavar.size() + 1 : 0));
  width = std::min<size_t>(width, 30);
  for (const auto& s : specs_) {
    std::string left = s.name + (s.takes_value ? " " + s.metavar : "");
    out << "  " << left;
    if (left.size() < width) out << std::string(width - left.size(), ' ');
    out << "  " << s.help << "\n";
  }
  out << "  --help" << std::string(width > 6 ? width - 6 : 0, ' ') << "  show this help\n";
  out << "\nConfig: --config FILE and overrides such as section.key=value or --section.key value\n"
         "(see docs/config.md; `explicitlm config --list` shows every key).\n";
  if (!notes_.empty()) out << "\n" << notes_ << "\n";
  if (!examples_.empty()) out << "\nExamples:\n" << examples_ << "\n";
  return out.str();
}

bool ArgParser::has(const std::string& name) const {
  return std::any_of(values_.begin(), values_.end(), [&](const auto& kv) { return kv.first == name; });
}

std::optional<std::string> ArgParser::maybe(const std::string& name) const {
  std::optional<std::string> out;
  for (const auto& [k, v] : values_) {
    if (k == name) out = v;
  }
  return out;
}

std::string ArgParser::get(const std::string& name) const {
  auto v = maybe(name);
  ELM_CHECK(v.has_value(), "explicitlm ", command_, ": missing required option ", name, " (see --help)");
  return *v;
}

std::string ArgParser::get_or(const std::string& name, const std::string& fallback) const {
  return maybe(name).value_or(fallback);
}

int64_t ArgParser::get_int(const std::string& name, int64_t fallback) const {
  auto v = maybe(name);
  return v ? parse_int(*v, name) : fallback;
}

double ArgParser::get_float(const std::string& name, double fallback) const {
  auto v = maybe(name);
  return v ? parse_float(*v, name) : fallback;
}

}  // namespace elm::app
