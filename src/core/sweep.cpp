#include "core/sweep.h"

#include <filesystem>
#include <map>
#include <set>
#include <toml++/toml.h>

#include "core/config.h"
#include "core/error.h"

namespace elm {
namespace {

namespace fs = std::filesystem;

// One value of the sweep file twice: as TOML text for a `section.key=value` override (the
// override parser reads quoted strings and TOML arrays) and as plain text for a run's name.
struct ValueText {
  std::string toml, plain;
};

ValueText value_text(const toml::node& node, const std::string& where) {
  if (auto s = node.as_string()) return {quote_toml_string(s->get()), s->get()};
  if (auto i = node.as_integer()) return {std::to_string(i->get()), std::to_string(i->get())};
  if (auto f = node.as_floating_point()) {
    const std::string text = format_toml_value(ConfigValue(f->get()));
    return {text, text};
  }
  if (auto b = node.as_boolean()) return {b->get() ? "true" : "false", b->get() ? "true" : "false"};
  if (auto a = node.as_array()) {
    ValueText out{"[", ""};
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::node& element = *a->get(i);
      ELM_CHECK(!element.is_array() && !element.is_table(), where, ": nested arrays and tables are not config values");
      const ValueText t = value_text(element, where);
      out.toml += (i ? ", " : "") + t.toml;
      out.plain += (i ? "," : "") + t.plain;
    }
    out.toml += "]";
    return out;
  }
  fail(where, ": a table, date or time is not a config value");
}

std::string line_of(const std::string& path, const toml::node& node) {
  return str_cat(path, ":", node.source().begin.line);
}

// The entries of [fixed] or [grid] as (section.key, node), whether written quoted
// ("training.max_steps" = 40) or as dotted keys (training.max_steps = 40, a nested table).
std::vector<std::pair<std::string, const toml::node*>> flat_entries(const toml::table& table, const std::string& path,
                                                                    const std::string& table_name) {
  std::vector<std::pair<std::string, const toml::node*>> out;
  for (auto&& [key, node] : table) {
    const std::string name(key.str());
    if (auto inner = node.as_table()) {
      for (auto&& [k, v] : *inner) {
        ELM_CHECK(!v.is_table(), line_of(path, v), ": [", table_name, "] ", name, ".", k.str(),
                  ": config keys are section.key (one dot)");
        out.emplace_back(name + "." + std::string(k.str()), &v);
      }
    } else {
      out.emplace_back(name, &node);
    }
  }
  return out;
}

void check_key(const ConfigSchema& schema, const std::string& name, const std::string& where,
               const std::string& table_name) {
  ELM_CHECK(schema.find(name) != nullptr, where, ": [", table_name, "]: ", schema.unknown_key_message(name));
  ELM_CHECK(name != "run.dir" && name != "run.name", where, ": [", table_name, "]: ", name,
            " is set by the sweep for each run (out_dir/<run name>); set [sweep] out_dir instead");
}

std::vector<std::string> string_or_list(const toml::node& node, const std::string& where) {
  std::vector<std::string> out;
  if (auto s = node.as_string()) {
    out.push_back(s->get());
  } else if (auto a = node.as_array()) {
    for (const auto& element : *a) {
      auto s = element.as_string();
      ELM_CHECK(s != nullptr, where, ": expected a list of file names (strings)");
      out.push_back(s->get());
    }
  } else {
    fail(where, ": expected a file name or a list of file names");
  }
  return out;
}

struct GridAxis {
  std::string key;
  std::string where;  // PATH:LINE of the key
  std::vector<ValueText> values;
};

}  // namespace

std::string sweep_name_part(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '+' || c == '-';
    out += keep ? c : '_';
  }
  return out.empty() ? "_" : out;
}

std::vector<std::string> SweepPlan::train_args(const SweepRun& run) const {
  std::vector<std::string> args;
  for (const auto& base : base_configs) {
    args.push_back("--config");
    args.push_back(base);
  }
  args.insert(args.end(), run.overrides.begin(), run.overrides.end());
  args.push_back("run.dir=" + run.run_dir);
  args.push_back("run.name=" + name + "/" + run.name);
  return args;
}

SweepPlan load_sweep(const std::string& path, const ConfigSchema& schema) {
  ELM_CHECK(fs::is_regular_file(path), "sweep file not found: ", path);
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    fail(path, ":", e.source().begin.line, ":", e.source().begin.column, ": TOML syntax error: ", e.description());
  }
  for (auto&& [key, node] : root) {
    const std::string name(key.str());
    ELM_CHECK(name == "sweep" || name == "fixed" || name == "grid", line_of(path, node), ": unknown table [", name,
              "] in a sweep file (expected [sweep], [fixed] and [grid])");
    ELM_CHECK(node.is_table(), line_of(path, node), ": '", name, "' must be a table ([", name, "])");
  }

  SweepPlan plan;
  plan.path = path;
  plan.name = fs::path(path).stem().string();
  if (auto sweep = root["sweep"].as_table()) {
    for (auto&& [key, node] : *sweep) {
      const std::string k(key.str()), where = line_of(path, node);
      if (k == "name") {
        ELM_CHECK(node.is_string() && !node.as_string()->get().empty(), where, ": [sweep] name must be a non-empty string");
        plan.name = node.as_string()->get();
      } else if (k == "base") {
        plan.base_configs = string_or_list(node, where + ": [sweep] base");
      } else if (k == "out_dir") {
        ELM_CHECK(node.is_string() && !node.as_string()->get().empty(), where, ": [sweep] out_dir must be a non-empty string");
        plan.out_dir = node.as_string()->get();
      } else {
        fail(where, ": unknown key '", k, "' in [sweep] (expected name, base, out_dir)");
      }
    }
  }
  ELM_CHECK(sweep_name_part(plan.name) == plan.name, path, ": [sweep] name '", plan.name,
            "' may only hold letters, digits, '.', '+' and '-' (it names directories)");
  if (plan.out_dir.empty()) plan.out_dir = "runs/" + plan.name;
  for (const auto& base : plan.base_configs) {
    ELM_CHECK(fs::is_regular_file(base), path, ": [sweep] base config '", base,
              "' does not exist (paths are relative to the current directory)");
  }

  std::vector<std::string> fixed;
  std::map<std::string, std::string> fixed_where;
  if (auto table = root["fixed"].as_table()) {
    for (const auto& [name, node] : flat_entries(*table, path, "fixed")) {
      const std::string where = line_of(path, *node);
      check_key(schema, name, where, "fixed");
      fixed.push_back(name + "=" + value_text(*node, where).toml);
      fixed_where[name] = where;
    }
  }
  std::vector<GridAxis> axes;
  if (auto table = root["grid"].as_table()) {
    for (const auto& [name, node] : flat_entries(*table, path, "grid")) {
      const std::string where = line_of(path, *node);
      check_key(schema, name, where, "grid");
      ELM_CHECK(fixed_where.count(name) == 0, where, ": ", name, " is in [grid] and in [fixed] (", fixed_where[name], ")");
      auto values = node->as_array();
      ELM_CHECK(values != nullptr && !values->empty(), where, ": [grid] ", name,
                " must be a non-empty array of the values to try, e.g. [1e-3, 2e-3]");
      GridAxis axis{name, where, {}};
      std::set<std::string> seen;
      for (const auto& v : *values) {
        ValueText t = value_text(v, where);
        ELM_CHECK(seen.insert(t.toml).second, where, ": [grid] ", name, " lists ", t.toml, " twice");
        axis.values.push_back(std::move(t));
      }
      axes.push_back(std::move(axis));
    }
  }

  // Run names use the key without its section, unless two grid keys share it.
  std::map<std::string, int> short_count;
  for (const auto& a : axes) ++short_count[a.key.substr(a.key.find('.') + 1)];
  size_t total = 1;
  for (const auto& a : axes) {
    plan.grid_keys.push_back(a.key);
    total *= a.values.size();
    ELM_CHECK(total <= 100000, path, ": the grid has more than 100000 runs");
  }

  std::map<std::string, int> names;
  for (size_t i = 0; i < total; ++i) {
    SweepRun run;
    run.index = static_cast<int>(i);
    run.overrides = fixed;
    // Row-major over the axes: the last axis varies fastest.
    size_t rest = i;
    std::vector<size_t> pick(axes.size());
    for (size_t a = axes.size(); a-- > 0;) {
      pick[a] = rest % axes[a].values.size();
      rest /= axes[a].values.size();
    }
    std::string name;
    for (size_t a = 0; a < axes.size(); ++a) {
      const GridAxis& axis = axes[a];
      const ValueText& v = axis.values[pick[a]];
      run.grid_values.emplace_back(axis.key, v.plain);
      run.overrides.push_back(axis.key + "=" + v.toml);
      const std::string short_key = axis.key.substr(axis.key.find('.') + 1);
      name += (a ? "_" : "") + (short_count[short_key] > 1 ? axis.key : short_key) + "-" + sweep_name_part(v.plain);
    }
    run.name = name.empty() ? "base" : name;
    auto [it, inserted] = names.emplace(run.name, run.index);
    ELM_CHECK(inserted, path, ": runs ", it->second, " and ", run.index, " would both be named '", run.name,
              "' (their values differ only in characters a directory name cannot hold)");
    run.run_dir = (fs::path(plan.out_dir) / run.name).string();

    // Resolve the run's whole config now: a bad value stops the sweep before anything runs.
    Config config(schema);
    for (const auto& base : plan.base_configs) config.load_file(base);
    for (size_t k = 0; k < run.overrides.size(); ++k) {
      const std::string& o = run.overrides[k];
      const std::string key = o.substr(0, o.find('='));
      const std::string where = k < fixed.size() ? fixed_where[key] : axes[k - fixed.size()].where;
      try {
        config.apply_override(o, where);
      } catch (const Error& e) {
        fail("sweep run ", run.index, " (", run.name, "): ", e.what());
      }
    }
    plan.runs.push_back(std::move(run));
  }
  return plan;
}

}  // namespace elm
