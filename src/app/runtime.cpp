#include "app/runtime.h"

#include <torch/torch.h>

#include "core/build_info.h"
#include "core/logging.h"
#include "core/run_dir.h"
#include "core/threads.h"

namespace elm::app {

Runtime start_runtime(const std::string& command, Config config) {
  Runtime rt{std::move(config)};
  RunDir run = prepare_run_dir(rt.config, command);
  rt.run_dir = run.root;
  log::init(logging_options(rt.config, run));

  rt.threads = resolve_thread_count(static_cast<int>(rt.config.get_int("runtime.threads")));
  torch::set_num_threads(rt.threads);
  ELM_LOG(debug) << "explicitlm " << ELM_VERSION << " (" << ELM_BUILD_TYPE << ", LibTorch " << TORCH_VERSION
                 << ") " << command << ": " << rt.threads << " thread(s)";
  for (const auto& line : rt.config.non_default_lines()) ELM_LOG(debug) << "config: " << line;
  if (!rt.run_dir.empty()) ELM_LOG(info) << "run directory: " << rt.run_dir;
  return rt;
}

}  // namespace elm::app
