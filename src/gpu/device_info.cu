// CUDA build of the device probe: asks the runtime (and NCCL when linked) what is available.
#include "gpu/device_info.h"

#include <cuda_runtime.h>
#ifdef ELM_HAVE_NCCL
#include <nccl.h>
#endif

namespace elm::gpu {

DeviceReport probe_devices() {
  DeviceReport report;
  report.built_with_cuda = true;
  int runtime = 0;
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) {
    report.cuda_runtime = std::to_string(runtime / 1000) + "." + std::to_string((runtime % 1000) / 10);
  }
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status == cudaSuccess) {
    report.device_count = count;
  } else {
    report.note = cudaGetErrorString(status);
  }
#ifdef ELM_HAVE_NCCL
  report.built_with_nccl = true;
  int nccl = 0;
  if (ncclGetVersion(&nccl) == ncclSuccess) {
    report.nccl_version = std::to_string(nccl / 10000) + "." + std::to_string((nccl % 10000) / 100) + "." +
                          std::to_string(nccl % 100);
  }
#endif
  return report;
}

}  // namespace elm::gpu
