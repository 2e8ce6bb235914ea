#include "app/run_source.h"

#include <filesystem>

#include "core/error.h"
#include "core/text_file.h"
#include "train/checkpoint.h"
#include "train/checkpointer.h"

namespace elm::app {
namespace {

namespace fs = std::filesystem;

std::string option_value(const Args& args, const std::string& name) {
  std::string value;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == name && i + 1 < args.size()) value = args[i + 1];
    if (args[i].rfind(name + "=", 0) == 0) value = args[i].substr(name.size() + 1);
  }
  return value;
}

}  // namespace

RunSource find_run_source(const Args& args) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") return {};
  }
  RunSource s;
  s.run_dir = option_value(args, "--run");
  s.checkpoint = option_value(args, "--checkpoint");
  if (!s.run_dir.empty()) {
    const std::string resolved = (fs::path(s.run_dir) / "config.resolved.toml").string();
    ELM_CHECK(fs::exists(resolved), resolved, " does not exist (is ", s.run_dir,
              " a run directory of explicitlm train?)");
    s.config_text = read_text_file(resolved);
    s.config_origin = resolved;
    if (s.checkpoint.empty()) s.checkpoint = train::resolve_checkpoint_path(s.run_dir);
  } else if (!s.checkpoint.empty()) {
    ELM_CHECK(fs::exists(s.checkpoint), "--checkpoint ", s.checkpoint, ": no such file");
    train::CheckpointSelection header_only;
    header_only.parameter = [](const std::string&) { return false; };
    header_only.optimizer = false;
    header_only.bank = false;
    s.config_text = train::read_checkpoint_part(s.checkpoint, header_only).config_text;
    s.config_origin = s.checkpoint + " (stored config)";
  }
  return s;
}

void use_run_config(ArgParser& parser, const RunSource& source) {
  if (!source.config_text.empty()) parser.base_config(source.config_text, source.config_origin);
}

void keep_out_of_training_run(Config& config, const RunSource& source) {
  if (source.config_text.empty()) return;
  // Only a value that came from the stored config itself: --config files and overrides stand.
  auto from_run = [&](const char* key) { return config.origin(key).rfind(source.config_origin, 0) == 0; };
  if (from_run("run.dir")) config.set("run.dir", std::string(), "cleared: the training run's own directory");
  // The fact extractor is chosen for this inference, not inherited from the training run (whose
  // stored config holds the default of its day: runs resolved before llmlingua2 became the default
  // hold passthrough, which must now be asked for).
  if (from_run("extractor.kind")) {
    config.set("extractor.kind", Config().get("extractor.kind"), "default (not the training run's stored value)");
  }
}

}  // namespace elm::app
