#include "app/runtime.h"

#include <torch/torch.h>

#include "core/build_info.h"
#include "core/logging.h"
#include "core/run_dir.h"
#include "core/threads.h"

namespace elm::app {

Config config_from_args(const std::vector<std::string>& args, std::vector<std::string>* rest) {
  return Config::from_cli(args, rest);
}

Runtime start_runtime(const std::string& command, Config config) {
  Runtime rt{std::move(config)};
  log::Options options;
  options.console_level = *log::parse_level(rt.config.get_string("logging.level"));
  options.file_level = *log::parse_level(rt.config.get_string("logging.file_level"));
  options.console_all_ranks = rt.config.get_bool("logging.all_ranks_console");
  RunDir run = prepare_run_dir(rt.config, command);
  rt.run_dir = run.root;
  options.file = run.log_file;
  log::init(options);

  rt.threads = resolve_thread_count(static_cast<int>(rt.config.get_int("runtime.threads")));
  torch::set_num_threads(rt.threads);
  ELM_LOG(debug) << "explicitlm " << ELM_VERSION << " (" << ELM_BUILD_TYPE << ", LibTorch " << TORCH_VERSION
                 << ") " << command << ": " << rt.threads << " thread(s)";
  for (const auto& line : rt.config.non_default_lines()) ELM_LOG(debug) << "config: " << line;
  if (!rt.run_dir.empty()) ELM_LOG(info) << "run directory: " << rt.run_dir;
  return rt;
}

}  // namespace elm::app
