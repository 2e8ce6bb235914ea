#pragma once
// Helpers of the multi-rank tests: the world communicator with a short deadline, inputs every rank
// can recompute for any other rank, and a bitwise cross-rank comparison.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "dist/mpi_communicator.h"

namespace elm::dist::testing {

// Tests use a 60 s deadline: a test that leaves a rank behind aborts the job with a message well
// before ctest's timeout.
inline std::unique_ptr<MpiCommunicator> world(double timeout_seconds = 60.0) {
  CommunicatorOptions options;
  options.timeout_seconds = timeout_seconds;
  return std::make_unique<MpiCommunicator>(MPI_COMM_WORLD, options);
}

// The input of `rank` for test `seed`: any rank can compute any other rank's input.
inline torch::Tensor rank_input(uint64_t seed, int rank, std::vector<int64_t> shape,
                                torch::ScalarType dtype = torch::kFloat32) {
  auto gen = at::detail::createCPUGenerator(seed * 1000003u + static_cast<uint64_t>(rank));
  return at::normal(0.0, 1.0, shape, gen, torch::TensorOptions().dtype(torch::kFloat32)).to(dtype);
}

// The ranks whose copy of `t` differs in any bit from this rank's (empty: identical everywhere).
// Collective over `comm`.
inline std::vector<int> ranks_differing(const torch::Tensor& t, MPI_Comm comm) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  torch::Tensor bytes = t.contiguous().view({-1}).view(torch::kUInt8);
  const int n = static_cast<int>(bytes.numel());
  std::vector<int> sizes(size);
  MPI_Allgather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, comm);
  for (int r = 0; r < size; ++r) {
    if (sizes[r] != n) return {r};
  }
  torch::Tensor all = torch::empty({static_cast<int64_t>(n) * size}, torch::kUInt8);
  MPI_Allgather(bytes.data_ptr(), n, MPI_UINT8_T, all.data_ptr(), n, MPI_UINT8_T, comm);
  std::vector<int> differing;
  for (int r = 0; r < size; ++r) {
    if (!torch::equal(all.narrow(0, static_cast<int64_t>(r) * n, n), bytes)) differing.push_back(r);
  }
  return differing;
}

}  // namespace elm::dist::testing
