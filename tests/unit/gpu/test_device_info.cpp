// The GPU probe: always answers; the device checks run only where a GPU is visible.
#include <gtest/gtest.h>

#include "gpu/device_info.h"

namespace elm::gpu {
namespace {

TEST(DeviceInfo, ReportsHowItWasBuilt) {
  const DeviceReport r = probe_devices();
#ifdef ELM_HAVE_CUDA
  EXPECT_TRUE(r.built_with_cuda);
  EXPECT_FALSE(r.cuda_runtime.empty()) << "the CUDA runtime version is known without a device";
#else
  EXPECT_FALSE(r.built_with_cuda);
  EXPECT_EQ(r.device_count, 0);
  EXPECT_EQ(r.note, "built without CUDA");
#endif
#ifdef ELM_HAVE_NCCL
  EXPECT_TRUE(r.built_with_nccl);
  EXPECT_FALSE(r.nccl_version.empty());
#endif
  EXPECT_GE(r.device_count, 0);
}

TEST(DeviceInfo, GpuDevicesAreUsable) {
  const DeviceReport r = probe_devices();
  if (r.device_count == 0) GTEST_SKIP() << "no GPU visible (" << r.note << "): GPU checks skipped";
  EXPECT_TRUE(r.built_with_cuda);
  EXPECT_TRUE(r.note.empty()) << r.note;
}

}  // namespace
}  // namespace elm::gpu
