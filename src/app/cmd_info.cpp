// explicitlm info: what this build and machine offer.
#include <iostream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "app/cli_args.h"
#include "app/commands.h"
#include "app/runtime.h"
#include "core/build_info.h"
#include "core/threads.h"
#include "gpu/device_info.h"

namespace elm::app {

int run_info(const Args& args) {
  ArgParser parser("info", "[--json]", "Prints the build configuration, thread count and GPU availability.");
  parser.flag("--json", "one JSON object instead of text");
  if (!parser.parse(args)) return 0;
  Config config = parser.config();
  Runtime rt = start_runtime("info", std::move(config));
  const gpu::DeviceReport gpu = gpu::probe_devices();
  nlohmann::json j = {
      {"version", ELM_VERSION},
      {"build_type", ELM_BUILD_TYPE},
      {"libtorch", TORCH_VERSION},
      {"threads", rt.threads},
      {"cuda_built", gpu.built_with_cuda},
      {"nccl_built", gpu.built_with_nccl},
      {"cuda_runtime", gpu.cuda_runtime},
      {"nccl_version", gpu.nccl_version},
      {"gpu_devices", gpu.device_count},
      {"gpu_note", gpu.note},
  };
  if (parser.has("--json")) {
    std::cout << j.dump() << "\n";
  } else {
    for (auto& [k, v] : j.items()) std::cout << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
  }
  return 0;
}

}  // namespace elm::app
