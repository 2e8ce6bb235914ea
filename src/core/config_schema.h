#pragma once
// The config schema: every key "section.key" the program understands, with its type, default,
// one-line help and optional validation (a set of choices, a numeric range). The built-in schema
// is one central table in config_keys.cpp; a module that needs a new key adds a row there.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace elm {

enum class ConfigType { Bool, Int, Float, String, IntList, StringList };

// Values are stored by type: Int is 64-bit, Float is double.
using ConfigValue = std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>,
                                 std::vector<std::string>>;

// "bool", "int", "float", "string", "int list", "string list".
const char* type_name(ConfigType type);
// The ConfigType a ConfigValue holds (the variant index maps 1:1).
ConfigType value_type(const ConfigValue& value);

struct ConfigKey {
  std::string name;  // "section.key"
  ConfigType type = ConfigType::String;
  ConfigValue default_value;
  std::string help;  // one line

  // Validation. Choices apply to strings (and each element of a string list); the range applies to
  // ints and floats (and each element of an int list).
  std::vector<std::string> choices;
  std::optional<double> min, max;
  bool min_exclusive = false, max_exclusive = false;

  // Fluent helpers for the schema table.
  ConfigKey& one_of(std::vector<std::string> allowed);
  ConfigKey& at_least(double v);      // value >= v
  ConfigKey& greater_than(double v);  // value >  v
  ConfigKey& at_most(double v);       // value <= v
  ConfigKey& less_than(double v);     // value <  v

  std::string section() const;  // text before the dot
  std::string key() const;      // text after the dot
  // Empty when the value is acceptable, otherwise why not ("must be one of: a, b").
  // The value must already have the key's type.
  std::string check(const ConfigValue& value) const;
  // "one of: a, b" / "in (0, 1]" / ">= 0" / "" — for help and docs.
  std::string constraint_text() const;
};

// Row constructors for the schema table.
ConfigKey key_bool(std::string name, bool def, std::string help);
ConfigKey key_int(std::string name, std::int64_t def, std::string help);
ConfigKey key_float(std::string name, double def, std::string help);
ConfigKey key_string(std::string name, std::string def, std::string help);
ConfigKey key_int_list(std::string name, std::vector<std::int64_t> def, std::string help);
ConfigKey key_string_list(std::string name, std::vector<std::string> def, std::string help);

class ConfigSchema {
 public:
  // The program's schema, built once from the table in config_keys.cpp.
  static const ConfigSchema& builtin();

  // Adds a key. Throws elm::Error for a malformed name ("section.key", lower-case letters, digits
  // and '_'), a duplicate, a default of the wrong type or a default that fails its own validation.
  void add(ConfigKey key);

  const std::vector<ConfigKey>& keys() const { return keys_; }
  const ConfigKey* find(std::string_view name) const;
  // Index into keys() or -1.
  int index_of(std::string_view name) const;
  // Sections in order of first appearance.
  const std::vector<std::string>& sections() const { return sections_; }
  bool has_section(std::string_view section) const;

  // The nearest valid key by edit distance (transpositions count 1), or "" when nothing is close.
  std::string closest_key(std::string_view name) const;
  std::string closest_section(std::string_view section) const;
  // The full "unknown config key ..." message, with a suggestion or the list of valid names.
  std::string unknown_key_message(std::string_view name) const;
  std::string unknown_section_message(std::string_view section) const;

  // A plain-text table of every key (name, type, default, constraint, help), for --help output.
  std::string describe() const;

 private:
  std::vector<ConfigKey> keys_;
  std::unordered_map<std::string, int> index_;
  std::vector<std::string> sections_;
};

// Fills `schema` with the program's keys: the central table (config_keys.cpp).
void register_builtin_config_keys(ConfigSchema& schema);

// Helpers shared by the config code.
// Edit distance (optimal string alignment: insert, delete, substitute, transpose adjacent).
std::size_t edit_distance(std::string_view a, std::string_view b);
// A value as TOML text: true, 42, 0.6, "text", [1, 2], ["a", "b"]. Floats round-trip exactly.
std::string format_toml_value(const ConfigValue& value);
// A TOML basic string literal with escapes.
std::string quote_toml_string(std::string_view text);

}  // namespace elm
