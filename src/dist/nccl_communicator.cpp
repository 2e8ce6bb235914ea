#include "dist/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstring>

#include "core/error.h"
#include "dist/abort.h"
#include "dist/mpi_error.h"

namespace elm::dist {

struct NcclCommunicator::State {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
};

namespace {

void check_cuda(cudaError_t code, const char* op, const std::string& where) {
  if (code == cudaSuccess) return;
  fail(op, " failed on ", where, ": ", cudaGetErrorName(code), ": ", cudaGetErrorString(code));
}

void check_nccl(ncclResult_t code, const char* op, const std::string& where, ncclComm_t comm = nullptr) {
  if (code == ncclSuccess) return;
  std::string detail = ncclGetErrorString(code);
  if (comm != nullptr) {
    const char* last = ncclGetLastError(comm);
    if (last != nullptr && *last != '\0') detail += str_cat(" (", last, ")");
  }
  fail(op, " failed on ", where, ": ", detail);
}

// Element type for reductions (do_all_reduce_sum only sees reduction dtypes).
ncclDataType_t nccl_reduce_type(torch::ScalarType dtype, const std::string& where) {
  switch (dtype) {
    case torch::kFloat32: return ncclFloat32;
    case torch::kFloat64: return ncclFloat64;
    case torch::kInt32: return ncclInt32;
    case torch::kInt64: return ncclInt64;
    case torch::kUInt8: return ncclUint8;
    default: fail("ncclAllReduce on ", where, ": no NCCL reduction for dtype ", c10::toString(dtype));
  }
}

size_t byte_size(const torch::Tensor& t) { return static_cast<size_t>(t.numel()) * t.element_size(); }

}  // namespace

int default_cuda_device(MPI_Comm comm) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  ELM_CHECK(status == cudaSuccess && count > 0, "the NCCL backend needs a CUDA device, found none (",
            status == cudaSuccess ? "0 devices" : cudaGetErrorString(status), ")");
  MPI_Comm node = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node), "MPI_Comm_split_type",
            "this process");
  int local_rank = 0;
  MPI_Comm_rank(node, &local_rank);
  MPI_Comm_free(&node);
  return local_rank % count;
}

NcclCommunicator::NcclCommunicator(MPI_Comm comm, int device_index, CommunicatorOptions options)
    : Communicator(comm_rank(comm), comm_size(comm), options),
      host_(comm, options),
      device_(device_index),
      state_(std::make_unique<State>()) {
  int world_rank = 0, world_size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  describe(world_rank, world_size);
  watchdog_ = std::make_unique<Watchdog>(options.timeout_seconds, where(), [](const std::string& m) { abort_all(m); });

  check_cuda(cudaSetDevice(device_), "cudaSetDevice", where());
  ncclUniqueId id;
  torch::Tensor id_bytes = torch::zeros({static_cast<int64_t>(sizeof(id))}, torch::kUInt8);
  if (rank() == 0) {
    check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId", where());
    std::memcpy(id_bytes.data_ptr(), &id, sizeof(id));
  }
  host_.broadcast(id_bytes, 0);
  std::memcpy(&id, id_bytes.data_ptr(), sizeof(id));
  {
    auto guard = watchdog_->watch("ncclCommInitRank");
    check_nccl(ncclCommInitRank(&state_->comm, size(), id, rank()), "ncclCommInitRank", where());
  }
  check_cuda(cudaStreamCreateWithFlags(&state_->stream, cudaStreamDefault), "cudaStreamCreate", where());
}

NcclCommunicator::~NcclCommunicator() {
  if (state_->stream != nullptr) cudaStreamSynchronize(state_->stream);
  if (state_->comm != nullptr) ncclCommDestroy(state_->comm);
  if (state_->stream != nullptr) cudaStreamDestroy(state_->stream);
}

void NcclCommunicator::check_device(const torch::Tensor& tensor, const char* op) const {
  ELM_CHECK(tensor.device().is_cuda() && tensor.device().index() == device_, op, " on ", where(),
            ": the NCCL backend takes tensors on cuda:", device_, ", got one on ", tensor.device().str());
}

void NcclCommunicator::wait(const char* op) {
  auto guard = watchdog_->watch(op);
  check_cuda(cudaStreamSynchronize(state_->stream), op, where());
  ncclResult_t async = ncclSuccess;
  check_nccl(ncclCommGetAsyncError(state_->comm, &async), "ncclCommGetAsyncError", where());
  check_nccl(async, op, where(), state_->comm);
}

void NcclCommunicator::do_all_reduce_sum(torch::Tensor& tensor) {
  // NCCL's ring and tree all-reduce hand every rank the same reduced bits.
  const ncclDataType_t type = nccl_reduce_type(tensor.scalar_type(), where());
  check_nccl(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()), type, ncclSum,
                           state_->comm, state_->stream),
             "ncclAllReduce", where(), state_->comm);
  wait("ncclAllReduce");
}

void NcclCommunicator::do_broadcast(torch::Tensor& tensor, int root) {
  // Raw bytes: a copy needs no element type (bfloat16 included).
  check_nccl(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), byte_size(tensor), ncclUint8, root, state_->comm,
                           state_->stream),
             "ncclBroadcast", where(), state_->comm);
  wait("ncclBroadcast");
}

void NcclCommunicator::do_all_to_all_v(const torch::Tensor& send, torch::Tensor& recv,
                                       const std::vector<int64_t>& send_counts,
                                       const std::vector<int64_t>& recv_counts) {
  int64_t row_elems = 1;
  for (int64_t d = 1; d < send.dim(); ++d) row_elems *= send.size(d);
  const size_t row_bytes = static_cast<size_t>(row_elems) * send.element_size();
  if (row_bytes == 0) return;
  const auto* send_ptr = static_cast<const char*>(send.data_ptr());
  auto* recv_ptr = static_cast<char*>(recv.data_ptr());
  // One group of point-to-point calls: NCCL schedules them together, so no ordering can deadlock.
  check_nccl(ncclGroupStart(), "ncclGroupStart", where());
  size_t send_offset = 0, recv_offset = 0;
  for (int peer = 0; peer < size(); ++peer) {
    const size_t send_bytes = static_cast<size_t>(send_counts[peer]) * row_bytes;
    const size_t recv_bytes = static_cast<size_t>(recv_counts[peer]) * row_bytes;
    if (send_bytes > 0) {
      check_nccl(ncclSend(send_ptr + send_offset, send_bytes, ncclUint8, peer, state_->comm, state_->stream),
                 "ncclSend", where(), state_->comm);
    }
    if (recv_bytes > 0) {
      check_nccl(ncclRecv(recv_ptr + recv_offset, recv_bytes, ncclUint8, peer, state_->comm, state_->stream),
                 "ncclRecv", where(), state_->comm);
    }
    send_offset += send_bytes;
    recv_offset += recv_bytes;
  }
  check_nccl(ncclGroupEnd(), "ncclGroupEnd (all_to_all_v)", where(), state_->comm);
  wait("all_to_all_v (ncclSend/ncclRecv)");
}

std::vector<int64_t> NcclCommunicator::do_exchange_counts(const std::vector<int64_t>& send_counts) {
  return host_.exchange_counts(send_counts);
}

void NcclCommunicator::do_barrier() {
  // Device work of this rank first, then the host barrier.
  wait("cudaStreamSynchronize (barrier)");
  host_.barrier();
}

void NcclCommunicator::do_send(const torch::Tensor& tensor, int dst, int tag) {
  // NCCL has no tags: messages between two ranks match in call order. The tag is validated by
  // the caller and otherwise unused here.
  check_nccl(ncclSend(tensor.data_ptr(), byte_size(tensor), ncclUint8, dst, state_->comm, state_->stream), "ncclSend",
             where(), state_->comm);
  wait("ncclSend");
}

void NcclCommunicator::do_recv(torch::Tensor& tensor, int src, int tag) {
  check_nccl(ncclRecv(tensor.data_ptr(), byte_size(tensor), ncclUint8, src, state_->comm, state_->stream), "ncclRecv",
             where(), state_->comm);
  wait("ncclRecv");
}

}  // namespace elm::dist
