#pragma once
// What GPU support this binary has and what the machine offers. Works in every build: without
// CUDA it reports "not built with CUDA"; with CUDA but no device it reports zero devices.
#include <string>

namespace elm::gpu {

struct DeviceReport {
  bool built_with_cuda = false;
  bool built_with_nccl = false;
  int device_count = 0;       // 0 when no driver or no device
  std::string cuda_runtime;   // e.g. "13.0", empty without CUDA
  std::string nccl_version;   // e.g. "2.27.3", empty without NCCL
  std::string note;           // why no device is usable, when none is
};

DeviceReport probe_devices();

}  // namespace elm::gpu
