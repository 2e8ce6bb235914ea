#pragma once
// Commands that work on a trained run (eval, generate, chat) find it with --run DIR (its
// config.resolved.toml and newest checkpoint) or --checkpoint PATH (the config stored inside the
// checkpoint when no run is given). The run's config must sit below every command-line value, so
// it is found before the option parser runs and handed to it as the base config.
#include <string>

#include "app/cli_args.h"
#include "app/commands.h"

namespace elm::app {

struct RunSource {
  std::string run_dir;     // --run (empty when not given)
  std::string checkpoint;  // --checkpoint, else the run's newest complete checkpoint; empty: none
  std::string config_text;    // the stored config (TOML), empty when neither option was given
  std::string config_origin;  // where it came from, for origins and errors
  bool empty() const { return checkpoint.empty(); }
};

// Reads --run / --checkpoint (also --run=DIR forms) from the raw arguments. Errors name the
// missing run directory, config file or checkpoint.
RunSource find_run_source(const Args& args);

// Hands the stored config to the parser as its base (call before parse()).
void use_run_config(ArgParser& parser, const RunSource& source);

// A training run's config names its own run directory; a command that only reads the run must not
// write into it. Clears run.dir when its value came from the stored config, and puts
// extractor.kind back to its default when it came from there (the extractor is an inference
// choice; a stored passthrough must not be used without being asked for).
void keep_out_of_training_run(Config& config, const RunSource& source);

}  // namespace elm::app
