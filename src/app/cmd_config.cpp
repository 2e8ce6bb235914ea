// explicitlm config: the resolved configuration (TOML), every key (--list), the Markdown reference
// docs/config-reference.md (--reference) or one value (--get, for job scripts).
#include <iostream>
#include <variant>

#include "app/cli_args.h"
#include "app/commands.h"
#include "core/config_reference.h"
#include "core/error.h"

namespace elm::app {

int run_config(const Args& args) {
  ArgParser parser("config", "[--config FILE] [section.key=value ...] [--list | --reference | --get KEY]",
                   "Prints the resolved configuration as TOML (defaults < file < command line), which\n"
                   "`--config` can read back; with --list every key with its type, default and help; with\n"
                   "--reference the same as the Markdown page docs/config-reference.md; with --get KEY one\n"
                   "resolved value (strings without quotes, other types as TOML), for job scripts.");
  parser.flag("--list", "list every key instead")
      .flag("--reference", "print docs/config-reference.md (generated from the schema; tools/gen-config-reference)")
      .option("--get", "KEY", "print only the resolved value of KEY (section.key)");
  parser.examples("  explicitlm config --config configs/tiny.toml generation.top_k=5\n"
                  "  explicitlm config --list\n"
                  "  explicitlm config --reference > docs/config-reference.md\n"
                  "  explicitlm config --config configs/tiny.toml --get parallel.pp");
  if (!parser.parse(args)) return 0;
  Config config = parser.config();
  const int modes = parser.has("--list") + parser.has("--reference") + parser.has("--get");
  ELM_CHECK(modes <= 1, "explicitlm config: --list, --reference and --get exclude each other");
  if (parser.has("--list")) {
    std::cout << config.schema().describe();
  } else if (parser.has("--reference")) {
    std::cout << config_reference_markdown(config.schema());
  } else if (auto key = parser.maybe("--get")) {
    ELM_CHECK(config.schema().find(*key) != nullptr, "explicitlm config --get: ", config.schema().unknown_key_message(*key));
    const ConfigValue& v = config.get(*key);
    std::cout << (value_type(v) == ConfigType::String ? std::get<std::string>(v) : format_toml_value(v)) << "\n";
  } else {
    std::cout << config.to_toml("resolved by `explicitlm config`");
  }
  return 0;
}

}  // namespace elm::app
