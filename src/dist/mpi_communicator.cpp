#include "dist/mpi_communicator.h"

#include "core/error.h"
#include "dist/abort.h"
#include "dist/mpi_error.h"
#include "dist/mpi_types.h"

namespace elm::dist {

int comm_rank(MPI_Comm comm) {
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank", "this process");
  return rank;
}

int comm_size(MPI_Comm comm) {
  int size = 0;
  check_mpi(MPI_Comm_size(comm, &size), "MPI_Comm_size", "this process");
  return size;
}

namespace {
int world_rank_or_zero() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}
int world_size_or_one() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}
// `comm` after checking it can be used (both constructor arguments go through it: their
// evaluation order is unspecified).
MPI_Comm usable(MPI_Comm comm) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  ELM_CHECK(initialized && !finalized,
            "an MPI communicator needs MPI to be initialised (create an elm::dist::MpiEnvironment first)");
  ELM_CHECK(comm != MPI_COMM_NULL, "an MPI communicator needs a communicator, got MPI_COMM_NULL");
  return comm;
}
}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm, CommunicatorOptions options)
    : Communicator(comm_rank(usable(comm)), comm_size(usable(comm)), std::move(options)) {
  describe(world_rank_or_zero(), world_size_or_one());
  watchdog_ = std::make_unique<Watchdog>(this->options().timeout_seconds, where(), [](const std::string& m) { abort_all(m); });
  {
    auto guard = watchdog_->watch("MPI_Comm_dup");
    check_mpi(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup", where());
  }
  check_mpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler", where());
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MpiCommunicator::check_device(const torch::Tensor& tensor, const char* op) const {
  ELM_CHECK(tensor.device().is_cpu(), op, " on ", where(), ": the MPI backend takes CPU tensors, got one on ",
            tensor.device().str(), " (parallel.backend = auto or nccl uses NCCL for CUDA tensors)");
}

MPI_Datatype MpiCommunicator::datatype(const torch::Tensor& tensor, const char* op) const {
  try {
    return mpi_datatype(tensor.scalar_type());
  } catch (const Error& e) {
    fail(op, " on ", where(), ": ", e.what());
  }
}

void MpiCommunicator::do_all_reduce_sum(torch::Tensor& tensor) {
  const MPI_Datatype type = datatype(tensor, "MPI_Allreduce");
  const int64_t n = tensor.numel();
  if (!tensor.is_floating_point()) {
    // Integer sums are exact in any order: one MPI_Allreduce is enough.
    const int count = mpi_count(n, "MPI_Allreduce", "element count");
    auto guard = watchdog_->watch("MPI_Allreduce");
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, tensor.data_ptr(), count, type, MPI_SUM, comm_), "MPI_Allreduce", where());
    return;
  }
  // Floating point: rank r reduces elements [r*chunk, (r+1)*chunk) and sends them to everyone.
  const int64_t chunk = (n + size() - 1) / size();
  const int chunk_count = mpi_count(chunk, "MPI_Reduce_scatter_block", "elements per rank");
  torch::Tensor flat = tensor.view({-1});
  torch::Tensor padded = flat;
  if (chunk * size() != n) {
    padded = torch::zeros({chunk * size()}, tensor.options());
    padded.narrow(0, 0, n).copy_(flat);
  }
  torch::Tensor mine = torch::empty({chunk}, tensor.options());
  {
    auto guard = watchdog_->watch("MPI_Reduce_scatter_block");
    check_mpi(MPI_Reduce_scatter_block(padded.data_ptr(), mine.data_ptr(), chunk_count, type, MPI_SUM, comm_),
              "MPI_Reduce_scatter_block", where());
  }
  {
    auto guard = watchdog_->watch("MPI_Allgather");
    check_mpi(MPI_Allgather(mine.data_ptr(), chunk_count, type, padded.data_ptr(), chunk_count, type, comm_),
              "MPI_Allgather", where());
  }
  if (!padded.is_same(flat)) flat.copy_(padded.narrow(0, 0, n));
}

void MpiCommunicator::do_broadcast(torch::Tensor& tensor, int root) {
  const MPI_Datatype type = datatype(tensor, "MPI_Bcast");
  const int count = mpi_count(tensor.numel(), "MPI_Bcast", "element count");
  auto guard = watchdog_->watch("MPI_Bcast");
  check_mpi(MPI_Bcast(tensor.data_ptr(), count, type, root, comm_), "MPI_Bcast", where());
}

namespace {
// A committed MPI datatype freed at scope exit.
class RowType {
 public:
  RowType(int64_t row_bytes, const std::string& where) {
    const int bytes = mpi_count(row_bytes, "MPI_Alltoallv", "bytes per row");
    check_mpi(MPI_Type_contiguous(bytes, MPI_BYTE, &type_), "MPI_Type_contiguous", where);
    check_mpi(MPI_Type_commit(&type_), "MPI_Type_commit", where);
  }
  ~RowType() { MPI_Type_free(&type_); }
  RowType(const RowType&) = delete;
  RowType& operator=(const RowType&) = delete;
  MPI_Datatype get() const { return type_; }

 private:
  MPI_Datatype type_ = MPI_DATATYPE_NULL;
};
}  // namespace

void MpiCommunicator::do_all_to_all_v(const torch::Tensor& send, torch::Tensor& recv,
                                      const std::vector<int64_t>& send_counts,
                                      const std::vector<int64_t>& recv_counts) {
  // Counts are in rows: one row is one element of a contiguous byte type, so counts and
  // displacements stay far below MPI's int limit even for large rows (bank entries).
  int64_t row_elems = 1;
  for (int64_t d = 1; d < send.dim(); ++d) row_elems *= send.size(d);
  const int64_t row_bytes = row_elems * static_cast<int64_t>(send.element_size());
  if (row_bytes == 0) return;  // rows of zero elements: nothing moves (same row shape on every rank)
  const MpiCounts s = mpi_counts(send_counts, "MPI_Alltoallv", "send_counts");
  const MpiCounts r = mpi_counts(recv_counts, "MPI_Alltoallv", "recv_counts");
  RowType row(row_bytes, where());
  auto guard = watchdog_->watch("MPI_Alltoallv");
  check_mpi(MPI_Alltoallv(send.data_ptr(), s.counts.data(), s.displs.data(), row.get(), recv.data_ptr(),
                          r.counts.data(), r.displs.data(), row.get(), comm_),
            "MPI_Alltoallv", where());
}

std::vector<int64_t> MpiCommunicator::do_exchange_counts(const std::vector<int64_t>& send_counts) {
  std::vector<int64_t> recv_counts(send_counts.size(), 0);
  auto guard = watchdog_->watch("MPI_Alltoall");
  check_mpi(MPI_Alltoall(send_counts.data(), 1, MPI_INT64_T, recv_counts.data(), 1, MPI_INT64_T, comm_),
            "MPI_Alltoall", where());
  return recv_counts;
}

void MpiCommunicator::do_barrier() {
  auto guard = watchdog_->watch("MPI_Barrier");
  check_mpi(MPI_Barrier(comm_), "MPI_Barrier", where());
}

void MpiCommunicator::do_send(const torch::Tensor& tensor, int dst, int tag) {
  const MPI_Datatype type = datatype(tensor, "MPI_Send");
  const int count = mpi_count(tensor.numel(), "MPI_Send", "element count");
  auto guard = watchdog_->watch("MPI_Send");
  check_mpi(MPI_Send(tensor.data_ptr(), count, type, dst, tag, comm_), "MPI_Send", where());
}

PendingSend::PendingSend(torch::Tensor buffer, MPI_Request request, MPI_Comm comm, Watchdog* watchdog,
                         std::string where)
    : buffer_(std::move(buffer)), request_(request), watchdog_(watchdog), where_(std::move(where)) {
  (void)comm;
}

PendingSend::~PendingSend() {
  if (request_ == MPI_REQUEST_NULL) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  // Normal code calls wait(). Here we are unwinding from an error, on the way to abort_all: the
  // receiver may never post its receive, and waiting would hang the job instead of ending it. The
  // buffer must outlive the transfer, so it is leaked (the process is about to exit).
  int done = 0;
  MPI_Test(&request_, &done, MPI_STATUS_IGNORE);
  if (!done) new torch::Tensor(std::move(buffer_));  // NOLINT: deliberate leak, see above
}

void PendingSend::wait() {
  if (request_ == MPI_REQUEST_NULL) return;
  auto guard = watchdog_->watch("MPI_Isend (wait)");
  check_mpi(MPI_Wait(&request_, MPI_STATUS_IGNORE), "MPI_Wait", where_);
}

std::unique_ptr<PendingSend> MpiCommunicator::send_async(const torch::Tensor& tensor, int dst, int tag) {
  check_point_to_point(tensor, dst, tag, "send_async", "destination", "sending to");
  torch::NoGradGuard no_grad;
  // A private copy: the caller may change or free its tensor while the message is in flight.
  torch::Tensor buffer = tensor.detach().contiguous().clone();
  const MPI_Datatype type = datatype(buffer, "MPI_Isend");
  const int count = mpi_count(buffer.numel(), "MPI_Isend", "element count");
  MPI_Request request = MPI_REQUEST_NULL;
  check_mpi(MPI_Isend(buffer.data_ptr(), count, type, dst, tag, comm_, &request), "MPI_Isend", where());
  return std::make_unique<PendingSend>(std::move(buffer), request, comm_, watchdog_.get(), where());
}

void MpiCommunicator::do_recv(torch::Tensor& tensor, int src, int tag) {
  const MPI_Datatype type = datatype(tensor, "MPI_Recv");
  const int count = mpi_count(tensor.numel(), "MPI_Recv", "element count");
  MPI_Status status;
  {
    auto guard = watchdog_->watch("MPI_Recv");
    check_mpi(MPI_Recv(tensor.data_ptr(), count, type, src, tag, comm_, &status), "MPI_Recv", where());
  }
  int received = 0;
  check_mpi(MPI_Get_count(&status, type, &received), "MPI_Get_count", where());
  ELM_CHECK(received == count, "MPI_Recv on ", where(), ": expected ", count, " elements from rank ", src, " (tag ",
            tag, "), got ", received);
}

}  // namespace elm::dist
