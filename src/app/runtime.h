#pragma once
// What every subcommand does once its options and config are parsed: set up logging (console, and the run directory's log file when run.dir is set), the thread count, and
// write the resolved config into the run directory.
#include <string>
#include <vector>

#include "core/config.h"

namespace elm::app {

struct Runtime {
  Config config;
  std::string run_dir;  // empty when run.dir is not set
  int threads = 1;
};

// Call after the command has folded its own flags into `config` (so the saved config is complete).
Runtime start_runtime(const std::string& command, Config config);

}  // namespace elm::app
