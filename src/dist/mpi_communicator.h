#pragma once
// The MPI backend: CPU tensors over an MPI communicator (Open MPI; any MPI-3 library).
//
// The constructor duplicates the communicator it is given (collective over it): the copy gives
// this object its own message space (its tags cannot match anyone else's messages) and carries
// MPI_ERRORS_RETURN, so failures become elm::Error instead of the default job kill. Every
// blocking call runs under a watchdog (watchdog.h): past options.timeout_seconds the job is
// aborted with "rank R: <MPI call> (<where>) did not finish within T s; aborting the job".
//
// Sums are computed as reduce-scatter + allgather instead of MPI_Allreduce: each element is then
// reduced on exactly one rank and copied to the others, so all ranks hold the same bits whatever
// algorithm the MPI library picks (MPI_Allreduce does not promise that; tree algorithms may add
// in different orders on different ranks).
#include <mpi.h>

#include <memory>

#include "dist/communicator.h"
#include "dist/watchdog.h"

namespace elm::dist {

// A send in flight (MpiCommunicator::send_async): owns the buffer until the transfer is done.
class PendingSend {
 public:
  PendingSend(torch::Tensor buffer, MPI_Request request, MPI_Comm comm, Watchdog* watchdog, std::string where);
  // Without wait() (unwinding from an error): does not block; an unfinished transfer keeps its
  // buffer alive until the process exits.
  ~PendingSend();
  PendingSend(const PendingSend&) = delete;
  PendingSend& operator=(const PendingSend&) = delete;
  // Returns when the message has left this rank's buffer (under the watchdog's deadline).
  void wait();

 private:
  torch::Tensor buffer_;
  MPI_Request request_ = MPI_REQUEST_NULL;
  Watchdog* watchdog_;
  std::string where_;
};

class MpiCommunicator : public Communicator {
 public:
  // Collective over `comm` (MPI_Comm_dup). MPI must be initialised.
  MpiCommunicator(MPI_Comm comm, CommunicatorOptions options = {});
  // Frees the duplicate (unless MPI is already finalised).
  ~MpiCommunicator() override;

  const char* backend() const override { return "mpi"; }
  // The duplicated communicator (e.g. for parallel HDF5 on the same group).
  MPI_Comm comm() const { return comm_; }

  // Point-to-point, not collective: starts sending `tensor` (copied to a contiguous buffer the
  // result owns) to `dst` with `tag` and returns at once (MPI_Isend). Unlike send(), it never
  // blocks, so a rank can post its sends and go on to its receives: what makes the pipeline
  // schedules deadlock-free (pipeline_schedule.h). Messages with the same (dst, tag) arrive in
  // the order they were posted.
  std::unique_ptr<PendingSend> send_async(const torch::Tensor& tensor, int dst, int tag);

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
  // mpi_datatype() with the operation and rank in its error.
  MPI_Datatype datatype(const torch::Tensor& tensor, const char* op) const;

  MPI_Comm comm_ = MPI_COMM_NULL;
  std::unique_ptr<Watchdog> watchdog_;
};

// Rank and size of `comm` (MPI must be initialised).
int comm_rank(MPI_Comm comm);
int comm_size(MPI_Comm comm);

}  // namespace elm::dist
