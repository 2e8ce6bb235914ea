#include "dist/communicator.h"

#include <utility>

#include "core/error.h"
#include "dist/bucketing.h"
#include "dist/mpi_types.h"

namespace elm::dist {

namespace {
std::string counts_text(const std::vector<int64_t>& counts) {
  std::string text = "[";
  for (size_t i = 0; i < counts.size(); ++i) text += (i ? ", " : "") + std::to_string(counts[i]);
  return text + "]";
}
}  // namespace

Communicator::Communicator(int rank, int size, CommunicatorOptions options)
    : rank_(rank), size_(size), options_(std::move(options)) {
  ELM_CHECK(size_ >= 1 && rank_ >= 0 && rank_ < size_, "communicator rank ", rank_, " of ", size_, " is invalid");
  ELM_CHECK(options_.timeout_seconds > 0, "parallel.timeout_seconds must be > 0, got ", options_.timeout_seconds);
  ELM_CHECK(options_.bucket_bytes > 0, "parallel.bucket_mb must give a positive bucket size, got ",
            options_.bucket_bytes, " bytes");
  where_ = str_cat("rank ", rank_, " of ", size_);
}

void Communicator::describe(int world_rank, int world_size) {
  if (options_.name == "world" && size_ == world_size) {
    where_ = str_cat("rank ", rank_, " of ", size_);
  } else {
    where_ = str_cat("rank ", rank_, " of ", size_, " in ", options_.name, " (world rank ", world_rank, ")");
  }
}

void Communicator::check_peer(int peer, const char* op, const char* role) const {
  ELM_CHECK(peer >= 0 && peer < size_, op, " on ", where_, ": ", role, " rank ", peer, " is not in 0..", size_ - 1);
}

void Communicator::all_reduce_sum(torch::Tensor& tensor) {
  const char* op = "all_reduce_sum";
  ELM_CHECK(tensor.defined(), op, " on ", where_, ": the tensor is undefined");
  check_device(tensor, op);
  torch::ScalarType reduce_as = torch::kFloat32;
  try {
    reduce_as = reduction_dtype(tensor.scalar_type());
  } catch (const Error& e) {
    fail(op, " on ", where_, ": ", e.what());
  }
  if (tensor.numel() == 0) return;  // same shape on every rank: all skip
  torch::NoGradGuard no_grad;
  if (tensor.is_contiguous() && tensor.scalar_type() == reduce_as) {
    do_all_reduce_sum(tensor);
    return;
  }
  torch::Tensor work = tensor.to(reduce_as).contiguous();
  do_all_reduce_sum(work);
  tensor.copy_(work);
}

void Communicator::all_reduce_mean(std::vector<torch::Tensor>& tensors) {
  const char* op = "all_reduce_mean";
  for (size_t i = 0; i < tensors.size(); ++i) {
    const torch::Tensor& t = tensors[i];
    ELM_CHECK(t.defined(), op, " on ", where_, ": tensor ", i, " is undefined");
    ELM_CHECK(t.is_floating_point(), op, " on ", where_, ": tensor ", i, " has dtype ", c10::toString(t.scalar_type()),
              "; a mean needs floating-point tensors");
    check_device(t, op);
  }
  if (size_ == 1) return;  // the mean of one rank is itself
  torch::NoGradGuard no_grad;
  for (const Bucket& bucket : plan_buckets(tensors, options_.bucket_bytes)) {
    const torch::ScalarType reduce_as = reduction_dtype(bucket.dtype);
    // A single contiguous tensor already in its reduction dtype is reduced where it is.
    if (bucket.tensors.size() == 1) {
      torch::Tensor& t = tensors[bucket.tensors[0]];
      if (t.is_contiguous() && t.scalar_type() == reduce_as) {
        do_all_reduce_sum(t);
        t.div_(size_);
        continue;
      }
    }
    torch::Tensor flat = torch::empty({bucket.numel}, torch::TensorOptions().dtype(reduce_as).device(bucket.device));
    int64_t offset = 0;
    for (size_t index : bucket.tensors) {
      const torch::Tensor& t = tensors[index];
      flat.narrow(0, offset, t.numel()).copy_(t.reshape({-1}));
      offset += t.numel();
    }
    do_all_reduce_sum(flat);
    // Every rank holds the same sums and divides them the same way: identical means.
    flat.div_(size_);
    offset = 0;
    for (size_t index : bucket.tensors) {
      torch::Tensor& t = tensors[index];
      t.copy_(flat.narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}

void Communicator::broadcast(torch::Tensor& tensor, int root) {
  const char* op = "broadcast";
  ELM_CHECK(tensor.defined(), op, " on ", where_, ": the tensor is undefined");
  check_peer(root, op, "root");
  check_device(tensor, op);
  if (tensor.numel() == 0) return;
  torch::NoGradGuard no_grad;
  if (tensor.is_contiguous()) {
    do_broadcast(tensor, root);
    return;
  }
  torch::Tensor work = tensor.contiguous();
  do_broadcast(work, root);
  tensor.copy_(work);
}

torch::Tensor Communicator::all_to_all_v(const torch::Tensor& send, const std::vector<int64_t>& send_counts,
                                         const std::vector<int64_t>& recv_counts) {
  const char* op = "all_to_all_v";
  ELM_CHECK(send.defined() && send.dim() >= 1, op, " on ", where_, ": the send tensor needs at least one dimension");
  check_device(send, op);
  ELM_CHECK(static_cast<int>(send_counts.size()) == size_ && static_cast<int>(recv_counts.size()) == size_, op,
            " on ", where_, ": needs one send and one receive count per rank (", size_, "), got ",
            send_counts.size(), " and ", recv_counts.size());
  int64_t send_rows = 0, recv_rows = 0;
  for (int r = 0; r < size_; ++r) {
    ELM_CHECK(send_counts[r] >= 0 && recv_counts[r] >= 0, op, " on ", where_, ": negative count for rank ", r,
              " (send_counts ", counts_text(send_counts), ", recv_counts ", counts_text(recv_counts), ")");
    send_rows += send_counts[r];
    recv_rows += recv_counts[r];
  }
  ELM_CHECK(send_rows == send.size(0), op, " on ", where_, ": send_counts ", counts_text(send_counts), " sum to ",
            send_rows, " rows but the send tensor has ", send.size(0));
  std::vector<int64_t> shape = send.sizes().vec();
  shape[0] = recv_rows;
  torch::Tensor recv = torch::empty(shape, send.options());
  torch::NoGradGuard no_grad;
  do_all_to_all_v(send.contiguous(), recv, send_counts, recv_counts);
  return recv;
}

std::vector<int64_t> Communicator::exchange_counts(const std::vector<int64_t>& send_counts) {
  const char* op = "exchange_counts";
  ELM_CHECK(static_cast<int>(send_counts.size()) == size_, op, " on ", where_, ": needs one count per rank (", size_,
            "), got ", send_counts.size());
  for (int r = 0; r < size_; ++r) {
    ELM_CHECK(send_counts[r] >= 0, op, " on ", where_, ": negative count ", send_counts[r], " for rank ", r);
  }
  return do_exchange_counts(send_counts);
}

AllToAllResult Communicator::all_to_all(const torch::Tensor& send, const std::vector<int64_t>& send_counts) {
  AllToAllResult result;
  result.recv_counts = exchange_counts(send_counts);
  result.data = all_to_all_v(send, send_counts, result.recv_counts);
  return result;
}

void Communicator::barrier() { do_barrier(); }

void Communicator::check_point_to_point(const torch::Tensor& tensor, int peer, int tag, const char* op,
                                        const char* role, const char* action) const {
  ELM_CHECK(tensor.defined(), op, " on ", where_, ": the tensor is undefined");
  check_peer(peer, op, role);
  ELM_CHECK(peer != rank_, op, " on ", where_, ": ", action, " itself would block forever");
  ELM_CHECK(tag >= 0, op, " on ", where_, ": tag ", tag, " is negative");
  check_device(tensor, op);
}

void Communicator::send(const torch::Tensor& tensor, int dst, int tag) {
  check_point_to_point(tensor, dst, tag, "send", "destination", "sending to");
  torch::NoGradGuard no_grad;
  do_send(tensor.contiguous(), dst, tag);
}

void Communicator::recv(torch::Tensor& tensor, int src, int tag) {
  check_point_to_point(tensor, src, tag, "recv", "source", "receiving from");
  torch::NoGradGuard no_grad;
  if (tensor.is_contiguous()) {
    do_recv(tensor, src, tag);
    return;
  }
  torch::Tensor work = torch::empty_like(tensor, torch::MemoryFormat::Contiguous);
  do_recv(work, src, tag);
  tensor.copy_(work);
}

}  // namespace elm::dist
