#include "dist/communicator_factory.h"

#include "core/error.h"
#include "dist/mpi_communicator.h"
#ifdef ELM_HAVE_NCCL
#include "dist/nccl_communicator.h"
#endif

namespace elm::dist {

bool nccl_available() {
#ifdef ELM_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

Backend resolve_backend(Backend requested, const torch::Device& device, bool nccl_built) {
  ELM_CHECK(device.is_cpu() || device.is_cuda(), "distributed training supports CPU and CUDA tensors, not ",
            device.str());
  switch (requested) {
    case Backend::automatic:
      if (device.is_cpu()) return Backend::mpi;
      ELM_CHECK(nccl_built, "parallel.backend = auto: tensors are on ", device.str(),
                " but this binary was built without NCCL (the MPI backend moves host memory only); rebuild with "
                "NCCL or train on the CPU");
      return Backend::nccl;
    case Backend::mpi:
      ELM_CHECK(device.is_cpu(), "parallel.backend = mpi: the MPI backend takes CPU tensors, but the tensors are on ",
                device.str(), "; use parallel.backend = auto or nccl");
      return Backend::mpi;
    case Backend::nccl:
      ELM_CHECK(nccl_built, "parallel.backend = nccl but this binary was built without NCCL (CMake did not find "
                            "nccl.h and libnccl); use parallel.backend = mpi");
      ELM_CHECK(device.is_cuda(), "parallel.backend = nccl needs CUDA tensors, but the tensors are on ", device.str(),
                "; use parallel.backend = mpi or auto");
      return Backend::nccl;
  }
  fail("unknown parallel.backend");
}

std::unique_ptr<Communicator> make_communicator(Backend backend, MPI_Comm comm, const torch::Device& device,
                                                CommunicatorOptions options) {
  const Backend chosen = resolve_backend(backend, device);
  if (chosen == Backend::mpi) return std::make_unique<MpiCommunicator>(comm, std::move(options));
#ifdef ELM_HAVE_NCCL
  const int index = device.has_index() ? device.index() : default_cuda_device(comm);
  return std::make_unique<NcclCommunicator>(comm, index, std::move(options));
#else
  fail("parallel.backend = nccl but this binary was built without NCCL");
#endif
}

}  // namespace elm::dist
