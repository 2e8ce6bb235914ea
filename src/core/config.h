#pragma once
// The resolved configuration: one value per schema key, each with where it came from.
//
//   Config cfg = Config::from_cli(args, &rest);   // --config FILE, then every override in args
//   int64_t n = cfg.get_int("generation.max_new_tokens");
//
// Layers: defaults < config file(s) < command line < set(). A value is only replaced by a value
// from the same or a higher layer, so loading a file after applying command-line overrides does
// not undo them (precedence holds whatever the call order). Among files, the later load wins.
// Every failure a user can cause throws elm::Error with the file:line or override text, the key,
// and what was expected. Asking for a key with the wrong getter is a programming error and throws
// elm::Error too.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_schema.h"
#include "core/error.h"

namespace elm {

class Config {
 public:
  // All defaults of the built-in schema.
  Config();
  // All defaults of `schema`, which must outlive the Config (and its copies).
  explicit Config(const ConfigSchema& schema);

  // Finds `--config FILE` / `--config=FILE` anywhere in args (before a "--" terminator; several
  // are loaded in order), loads them, then applies every override in args (apply_cli). The
  // arguments that are neither go to *rest, in order.
  static Config from_cli(const std::vector<std::string>& args,
                         std::vector<std::string>* rest = nullptr,
                         const ConfigSchema& schema = ConfigSchema::builtin());

  // What from_cli does on an existing Config (e.g. one that already holds a run's stored config):
  // loads every --config file in args, applies the overrides, returns the other arguments.
  std::vector<std::string> apply_files_and_cli(const std::vector<std::string>& args);

  // Reads a TOML file of [section] tables. Origins become "PATH:LINE".
  void load_file(const std::string& path);
  // Same for TOML text; `source_name` stands in for the path in origins and errors.
  void load_string(std::string_view toml_text, const std::string& source_name = "<string>");

  // "section.key=value": the value text is parsed by the key's type (see docs/config.md).
  // `origin` is recorded for the key and used in error messages.
  void apply_override(const std::string& assignment, const std::string& origin = "command line");

  // Consumes every `section.key=value` token (an unknown section or key is an error), every
  // `--section.key value` and `--section.key=value` whose section is in the schema (an unknown key
  // in a known section is an error), and returns the other arguments in order. Everything from a
  // "--" token on is returned untouched.
  std::vector<std::string> apply_cli(const std::vector<std::string>& args);

  bool get_bool(std::string_view key) const;
  std::int64_t get_int(std::string_view key) const;
  double get_float(std::string_view key) const;
  const std::string& get_string(std::string_view key) const;
  const std::vector<std::int64_t>& get_int_list(std::string_view key) const;
  const std::vector<std::string>& get_string_list(std::string_view key) const;
  const ConfigValue& get(std::string_view key) const;

  // Sets a value from code (highest layer). An int is accepted for a float key; any other type
  // mismatch or a value failing validation throws elm::Error.
  void set(std::string_view key, ConfigValue value, const std::string& origin = "program");

  // "default", "FILE:LINE", "command line" (or the origin given to apply_override / set).
  const std::string& origin(std::string_view key) const;

  // The resolved config as TOML: every key, grouped by section in schema order, each preceded by
  // its help text as a comment. load_file/load_string reads it back to equal values.
  // `header` (may span lines) is written first as comment lines.
  std::string to_toml(const std::string& header = "") const;
  // Writes to_toml() to `path` atomically (PATH.tmp.PID, then rename).
  void write_toml(const std::string& path, const std::string& header = "") const;

  // One value as TOML text ("bfloat16" quoted, 0.6, [1, 2]).
  std::string value_text(std::string_view key) const;
  // Keys whose origin is not "default", as "key = value  # origin" lines (for the startup log).
  std::vector<std::string> non_default_lines() const;

  const ConfigSchema& schema() const { return *schema_; }

  // Equal values for every key (origins are not compared).
  bool operator==(const Config& other) const;
  bool operator!=(const Config& other) const { return !(*this == other); }

 private:
  struct Entry {
    ConfigValue value;
    std::string origin;
    int layer = 0;  // 0 default, 1 file, 2 command line, 3 program
  };
  int require_index(std::string_view key) const;
  const ConfigValue& typed(std::string_view key, ConfigType type) const;
  // Validates, then stores unless a higher layer already set the key. `where` prefixes errors.
  void store(int index, ConfigValue value, const std::string& origin, int layer,
             const std::string& where);
  void load_toml(std::string_view text, const std::string& source_name);

  const ConfigSchema* schema_;
  std::vector<Entry> entries_;
};

// Parses override value text as `type` ("true"/"false"/"1"/"0"; integers; floats; strings bare or
// quoted; lists comma-separated or as a TOML array). Throws elm::Error saying what was expected.
ConfigValue parse_config_value(std::string_view text, ConfigType type);

}  // namespace elm
