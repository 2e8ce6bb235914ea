#include "core/config_schema.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/error.h"

namespace elm {

const char* type_name(ConfigType type) {
  switch (type) {
    case ConfigType::Bool: return "bool";
    case ConfigType::Int: return "int";
    case ConfigType::Float: return "float";
    case ConfigType::String: return "string";
    case ConfigType::IntList: return "int list";
    case ConfigType::StringList: return "string list";
  }
  return "?";
}

ConfigType value_type(const ConfigValue& value) { return static_cast<ConfigType>(value.index()); }

namespace {

std::string number_text(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

bool valid_name_part(std::string_view part) {
  if (part.empty() || !(part[0] >= 'a' && part[0] <= 'z')) return false;
  for (char c : part) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

// Suggest only when the distance is small relative to the name.
bool close_enough(std::size_t distance, std::size_t length) {
  return distance <= std::max<std::size_t>(2, length / 3);
}

}  // namespace

ConfigKey& ConfigKey::one_of(std::vector<std::string> allowed) {
  choices = std::move(allowed);
  return *this;
}
ConfigKey& ConfigKey::at_least(double v) {
  min = v;
  min_exclusive = false;
  return *this;
}
ConfigKey& ConfigKey::greater_than(double v) {
  min = v;
  min_exclusive = true;
  return *this;
}
ConfigKey& ConfigKey::at_most(double v) {
  max = v;
  max_exclusive = false;
  return *this;
}
ConfigKey& ConfigKey::less_than(double v) {
  max = v;
  max_exclusive = true;
  return *this;
}

std::string ConfigKey::section() const { return name.substr(0, name.find('.')); }
std::string ConfigKey::key() const {
  auto dot = name.find('.');
  return dot == std::string::npos ? std::string() : name.substr(dot + 1);
}

std::string ConfigKey::constraint_text() const {
  if (!choices.empty()) return "one of: " + join(choices, ", ");
  if (min && max) {
    return str_cat("in ", min_exclusive ? "(" : "[", number_text(*min), ", ", number_text(*max),
                   max_exclusive ? ")" : "]");
  }
  if (min) return str_cat(min_exclusive ? "> " : ">= ", number_text(*min));
  if (max) return str_cat(max_exclusive ? "< " : "<= ", number_text(*max));
  return "";
}

std::string ConfigKey::check(const ConfigValue& value) const {
  auto check_number = [&](double v) -> std::string {
    bool ok = true;
    if (min) ok = ok && (min_exclusive ? v > *min : v >= *min);
    if (max) ok = ok && (max_exclusive ? v < *max : v <= *max);
    if (!ok) return str_cat("must be ", constraint_text());
    return "";
  };
  auto check_string = [&](const std::string& s) -> std::string {
    if (choices.empty() || std::find(choices.begin(), choices.end(), s) != choices.end()) return "";
    return str_cat("must be ", constraint_text());
  };
  switch (value_type(value)) {
    case ConfigType::Bool: return "";
    case ConfigType::Int: return check_number(static_cast<double>(std::get<std::int64_t>(value)));
    case ConfigType::Float: return check_number(std::get<double>(value));
    case ConfigType::String: return check_string(std::get<std::string>(value));
    case ConfigType::IntList:
      for (auto v : std::get<std::vector<std::int64_t>>(value)) {
        auto why = check_number(static_cast<double>(v));
        if (!why.empty()) return str_cat("every element ", why, " (got ", v, ")");
      }
      return "";
    case ConfigType::StringList:
      for (const auto& s : std::get<std::vector<std::string>>(value)) {
        auto why = check_string(s);
        if (!why.empty()) return str_cat("every element ", why, " (got \"", s, "\")");
      }
      return "";
  }
  return "";
}

static ConfigKey make_key(std::string name, ConfigType type, ConfigValue def, std::string help) {
  ConfigKey k;
  k.name = std::move(name);
  k.type = type;
  k.default_value = std::move(def);
  k.help = std::move(help);
  return k;
}

ConfigKey key_bool(std::string name, bool def, std::string help) {
  return make_key(std::move(name), ConfigType::Bool, def, std::move(help));
}
ConfigKey key_int(std::string name, std::int64_t def, std::string help) {
  return make_key(std::move(name), ConfigType::Int, def, std::move(help));
}
ConfigKey key_float(std::string name, double def, std::string help) {
  return make_key(std::move(name), ConfigType::Float, def, std::move(help));
}
ConfigKey key_string(std::string name, std::string def, std::string help) {
  return make_key(std::move(name), ConfigType::String, std::move(def), std::move(help));
}
ConfigKey key_int_list(std::string name, std::vector<std::int64_t> def, std::string help) {
  return make_key(std::move(name), ConfigType::IntList, std::move(def), std::move(help));
}
ConfigKey key_string_list(std::string name, std::vector<std::string> def, std::string help) {
  return make_key(std::move(name), ConfigType::StringList, std::move(def), std::move(help));
}

const ConfigSchema& ConfigSchema::builtin() {
  static const ConfigSchema schema = [] {
    ConfigSchema s;
    register_builtin_config_keys(s);
    return s;
  }();
  return schema;
}

void ConfigSchema::add(ConfigKey key) {
  auto dot = key.name.find('.');
  ELM_CHECK(dot != std::string::npos && key.name.find('.', dot + 1) == std::string::npos &&
                valid_name_part(std::string_view(key.name).substr(0, dot)) &&
                valid_name_part(std::string_view(key.name).substr(dot + 1)),
            "config schema: malformed key name '", key.name,
            "' (expected section.key in lower case letters, digits and '_')");
  ELM_CHECK(index_.find(key.name) == index_.end(), "config schema: duplicate key '", key.name, "'");
  ELM_CHECK(value_type(key.default_value) == key.type, "config schema: default of '", key.name,
            "' is a ", type_name(value_type(key.default_value)), ", expected ", type_name(key.type));
  auto why = key.check(key.default_value);
  ELM_CHECK(why.empty(), "config schema: default of '", key.name, "' ", why);
  auto section = key.section();
  if (!has_section(section)) sections_.push_back(section);
  index_.emplace(key.name, static_cast<int>(keys_.size()));
  keys_.push_back(std::move(key));
}

const ConfigKey* ConfigSchema::find(std::string_view name) const {
  int i = index_of(name);
  return i < 0 ? nullptr : &keys_[static_cast<std::size_t>(i)];
}

int ConfigSchema::index_of(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? -1 : it->second;
}

bool ConfigSchema::has_section(std::string_view section) const {
  return std::find(sections_.begin(), sections_.end(), section) != sections_.end();
}

std::string ConfigSchema::closest_key(std::string_view name) const {
  std::string best;
  std::size_t best_d = std::string::npos;
  for (const auto& k : keys_) {
    auto d = edit_distance(name, k.name);
    if (d < best_d) {
      best_d = d;
      best = k.name;
    }
  }
  // Also try the key part alone within a known section: "model.dtpye" vs "model.dtype" is already
  // covered above; this catches a right key under a wrong section ("runtime.dtype").
  auto dot = name.find('.');
  if (dot != std::string_view::npos) {
    auto tail = name.substr(dot + 1);
    for (const auto& k : keys_) {
      if (k.key() == tail && best_d > 2) {
        best = k.name;
        best_d = 2;
      }
    }
  }
  return best_d != std::string::npos && close_enough(best_d, name.size()) ? best : std::string();
}

std::string ConfigSchema::closest_section(std::string_view section) const {
  std::string best;
  std::size_t best_d = std::string::npos;
  for (const auto& s : sections_) {
    auto d = edit_distance(section, s);
    if (d < best_d) {
      best_d = d;
      best = s;
    }
  }
  return best_d != std::string::npos && close_enough(best_d, section.size()) ? best
                                                                               : std::string();
}

std::string ConfigSchema::unknown_key_message(std::string_view name) const {
  std::string msg = str_cat("unknown config key '", name, "'");
  auto suggestion = closest_key(name);
  if (!suggestion.empty()) return str_cat(msg, " (did you mean '", suggestion, "'?)");
  auto dot = name.find('.');
  std::string section(name.substr(0, dot));
  if (dot != std::string_view::npos && has_section(section)) {
    std::vector<std::string> names;
    for (const auto& k : keys_) {
      if (k.section() == section) names.push_back(k.key());
    }
    return str_cat(msg, " (keys in [", section, "]: ", join(names, ", "), ")");
  }
  return str_cat(msg, " (sections: ", join(sections_, ", "), ")");
}

std::string ConfigSchema::unknown_section_message(std::string_view section) const {
  std::string msg = str_cat("unknown config section '", section, "'");
  auto suggestion = closest_section(section);
  if (!suggestion.empty()) return str_cat(msg, " (did you mean '", suggestion, "'?)");
  return str_cat(msg, " (sections: ", join(sections_, ", "), ")");
}

std::string ConfigSchema::describe() const {
  std::size_t w_name = 0, w_type = 0, w_def = 0;
  std::vector<std::string> defs;
  for (const auto& k : keys_) {
    defs.push_back(format_toml_value(k.default_value));
    w_name = std::max(w_name, k.name.size());
    w_type = std::max(w_type, std::string(type_name(k.type)).size());
    w_def = std::max(w_def, defs.back().size());
  }
  std::ostringstream out;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    const auto& k = keys_[i];
    std::string type = type_name(k.type);
    out << "  " << k.name << std::string(w_name - k.name.size() + 2, ' ') << type
        << std::string(w_type - type.size() + 2, ' ') << defs[i]
        << std::string(w_def - defs[i].size() + 2, ' ') << k.help;
    auto c = k.constraint_text();
    if (!c.empty()) out << " (" << c << ")";
    out << "\n";
  }
  return out.str();
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::string quote_toml_string(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04X", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

namespace {
std::string format_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back exactly
  std::string s(buf, res.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  // TOML requires a digit before and after '.', and an exponent without "e+" is fine; to_chars
  // writes "1e+20", which TOML accepts.
  return s;
}
}  // namespace

std::string format_toml_value(const ConfigValue& value) {
  switch (value_type(value)) {
    case ConfigType::Bool: return std::get<bool>(value) ? "true" : "false";
    case ConfigType::Int: return std::to_string(std::get<std::int64_t>(value));
    case ConfigType::Float: return format_float(std::get<double>(value));
    case ConfigType::String: return quote_toml_string(std::get<std::string>(value));
    case ConfigType::IntList: {
      std::string out = "[";
      const auto& v = std::get<std::vector<std::int64_t>>(value);
      for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
      return out + "]";
    }
    case ConfigType::StringList: {
      std::string out = "[";
      const auto& v = std::get<std::vector<std::string>>(value);
      for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + quote_toml_string(v[i]);
      return out + "]";
    }
  }
  return "";
}

}  // namespace elm
