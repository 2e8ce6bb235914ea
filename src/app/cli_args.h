#pragma once
// A small option parser for the subcommands: `--name value`, `--name=value` and flags, with
// generated --help text. Arguments the command does not declare go to the configuration
// (`--config FILE`, `section.key=value`, `--section.key value`); what neither takes is an error
// that names the argument and the command. The command's own options are taken first, so an
// option value that merely looks like an override (--prompt "a.b=c") stays a value.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/parse.h"

namespace elm::app {

class ArgParser {
 public:
  ArgParser(std::string command, std::string usage, std::string description);

  ArgParser& option(const std::string& name, const std::string& metavar, const std::string& help);
  ArgParser& flag(const std::string& name, const std::string& help);
  ArgParser& examples(const std::string& text);
  ArgParser& notes(const std::string& text);
  // TOML text loaded below every --config file and override (a checkpoint's stored config);
  // `source` names it in origins and errors.
  ArgParser& base_config(std::string toml_text, std::string source);

  // Returns false when --help/-h was given (help already printed to stdout).
  bool parse(const std::vector<std::string>& args);
  // The configuration resolved from the arguments parse() passed on (defaults < files < overrides).
  Config& config() { return config_; }
  std::string help() const;

  bool has(const std::string& name) const;
  std::string get(const std::string& name) const;  // error "missing required option" when absent
  std::string get_or(const std::string& name, const std::string& fallback) const;
  std::optional<std::string> maybe(const std::string& name) const;
  int64_t get_int(const std::string& name, int64_t fallback) const;
  double get_float(const std::string& name, double fallback) const;

 private:
  struct Spec {
    std::string name, metavar, help;
    bool takes_value;
  };
  const Spec* find(const std::string& name) const;

  std::string command_, usage_, description_, examples_, notes_;
  std::string base_toml_, base_source_;
  std::vector<Spec> specs_;
  std::vector<std::pair<std::string, std::string>> values_;  // in order; later wins
  Config config_;
};

}  // namespace elm::app
