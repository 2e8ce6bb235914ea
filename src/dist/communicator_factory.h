#pragma once
// Picks and builds the communicator backend for the tensors' device.
#include <mpi.h>

#include <memory>

#include "dist/communicator.h"
#include "dist/parallel_options.h"

namespace elm::dist {

// Whether this binary has the NCCL backend (CMake found NCCL).
bool nccl_available();

// The backend that will run: auto -> nccl for CUDA devices when built with NCCL, else mpi.
// Throws elm::Error for combinations that cannot work: nccl without NCCL in the build, nccl for
// CPU tensors, mpi for CUDA tensors (the MPI backend moves host memory only).
Backend resolve_backend(Backend requested, const torch::Device& device, bool nccl_built = nccl_available());

// A communicator over `comm` (collective over it) for tensors on `device`. A CUDA device without
// an index uses default_cuda_device(comm).
std::unique_ptr<Communicator> make_communicator(Backend backend, MPI_Comm comm, const torch::Device& device,
                                                CommunicatorOptions options = {});

}  // namespace elm::dist
