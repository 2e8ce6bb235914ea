#pragma once
// The NCCL backend: CUDA tensors on one device per rank. Built only when CMake finds NCCL
// (ELM_HAVE_NCCL); make_communicator() picks it for CUDA tensors.
//
// Bootstrap over MPI: rank 0 creates the ncclUniqueId and broadcasts it over the MPI
// communicator; every rank then joins with ncclCommInitRank on its device. The MPI communicator
// (an MpiCommunicator of the same group) also carries what lives on the host: exchange_counts
// and the barrier.
//
// Streams: operations run on a stream of this communicator created with cudaStreamDefault, which
// synchronises implicitly with the legacy default stream that LibTorch uses: kernels that wrote
// a tensor finish before NCCL reads it. Each operation waits for its stream before returning
// (simple and safe: the tensor can be used at once; no overlap with compute yet), under the
// same watchdog deadline as MPI calls.
//
// Unlike MPI, NCCL does not check that a recv matches the size of its send, and has no tags
// (messages between two ranks match in call order): a mismatch is undefined, not an error.
#include <memory>

#include <mpi.h>

#include "dist/communicator.h"
#include "dist/mpi_communicator.h"
#include "dist/watchdog.h"

namespace elm::dist {

class NcclCommunicator : public Communicator {
 public:
  // Collective over `comm`. device_index: the CUDA device of this rank (cudaSetDevice).
  NcclCommunicator(MPI_Comm comm, int device_index, CommunicatorOptions options = {});
  ~NcclCommunicator() override;

  const char* backend() const override { return "nccl"; }
  int device_index() const { return device_; }

 protected:
  void do_all_reduce_sum(torch::Tensor& tensor) override;
  void do_broadcast(torch::Tensor& tensor, int root) override;
  void do_all_to_all_v(const torch::Tensor& send, torch::Tensor& recv, const std::vector<int64_t>& send_counts,
                       const std::vector<int64_t>& recv_counts) override;
  std::vector<int64_t> do_exchange_counts(const std::vector<int64_t>& send_counts) override;
  void do_barrier() override;
  void do_send(const torch::Tensor& tensor, int dst, int tag) override;
  void do_recv(torch::Tensor& tensor, int src, int tag) override;
  void check_device(const torch::Tensor& tensor, const char* op) const override;

 private:
  struct State;  // NCCL and CUDA handles, kept out of this header
  // Waits for the stream and checks NCCL's asynchronous error; `op` names the operation.
  void wait(const char* op);

  MpiCommunicator host_;
  int device_;
  std::unique_ptr<State> state_;
  std::unique_ptr<Watchdog> watchdog_;
};

// The CUDA device a rank uses when none is given: its node-local rank (OMPI_COMM_WORLD_LOCAL_RANK,
// MPI_Comm_split_type shared-memory rank) modulo the visible devices.
int default_cuda_device(MPI_Comm comm);

}  // namespace elm::dist
