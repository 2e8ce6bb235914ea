// Build without a CUDA toolkit: the probe says so instead of failing.
#include "gpu/device_info.h"

namespace elm::gpu {

DeviceReport probe_devices() {
  DeviceReport report;
  report.note = "built without CUDA";
  return report;
}

}  // namespace elm::gpu
