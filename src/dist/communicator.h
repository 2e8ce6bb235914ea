#pragma once
// The communicator interface: collectives and point-to-point transfers of torch tensors among the
// ranks of one group, behind one API for both backends (MPI for CPU tensors, NCCL for CUDA
// tensors). See docs/distributed.md.
//
// Every operation is collective over the group unless it says otherwise: all ranks call it, in
// the same order, with matching arguments. Arguments are validated on each rank before any
// communication; a failure (a bad argument, an MPI/NCCL error) throws elm::Error naming the
// operation and the rank ("MPI_Alltoallv failed on rank 2 of 4: ..."). A rank that throws
// leaves the others waiting in their next collective: the caller ends the job with abort_all
// (abort.h), and a collective that does not finish within the timeout aborts the job by itself
// (watchdog.h).
//
// The template-method split: this class validates arguments, handles layout (non-contiguous
// tensors, dtypes summed in float32, buckets, row counts); a backend implements the do_* hooks
// over contiguous tensors on its device.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace elm::dist {

struct CommunicatorOptions {
  // A blocking operation that takes longer aborts the job (parallel.timeout_seconds).
  double timeout_seconds = 600.0;
  // all_reduce_mean bucket size (parallel.bucket_mb).
  int64_t bucket_bytes = 25 * 1024 * 1024;
  // The group's name in messages: "world", "dp group of stage 0", ...
  std::string name = "world";
};

// all_to_all with counts exchanged first.
struct AllToAllResult {
  torch::Tensor data;                // [sum(recv_counts), row...]: rows from rank 0, then rank 1, ...
  std::vector<int64_t> recv_counts;  // rows received from each rank
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // "mpi" or "nccl".
  virtual const char* backend() const = 0;
  const CommunicatorOptions& options() const { return options_; }
  // "rank 2 of 4" (the world), or "rank 1 of 2 in dp group of stage 0 (world rank 3)".
  const std::string& where() const { return where_; }

  // Replaces every tensor by its mean over the ranks, in place. Floating-point tensors only, any
  // layout, on this backend's device. Tensors are packed into buckets (bucketing.h), one
  // all-reduce each; bfloat16/float16 are summed in float32. The result is bit-identical on all
  // ranks (every rank needs the same tensors in the same order: the same shapes and dtypes).
  void all_reduce_mean(std::vector<torch::Tensor>& tensors);
  // Replaces `tensor` by its sum over the ranks, in place; bit-identical on all ranks.
  // Floating dtypes, int32, int64, uint8.
  void all_reduce_sum(torch::Tensor& tensor);
  // Copies root's tensor into every rank's `tensor` (same shape and dtype everywhere), in place.
  void broadcast(torch::Tensor& tensor, int root);

  // Variable all-to-all of rows: `send` is [n, row...] (contiguous or not), split along dim 0 into
  // send_counts[r] rows for rank r, in rank order (sum(send_counts) == n). recv_counts[r] rows
  // come from rank r (they must equal what r sends here). Returns [sum(recv_counts), row...] on
  // the send tensor's device and dtype. A 1-D tensor (e.g. int64 indices) has rows of one
  // element. Counts and their prefix sums must fit MPI's int.
  torch::Tensor all_to_all_v(const torch::Tensor& send, const std::vector<int64_t>& send_counts,
                             const std::vector<int64_t>& recv_counts);
  // Tells every rank how much each other rank sends it: returns recv_counts with recv_counts[r] =
  // send_counts[rank()] of rank r (MPI_Alltoall of one int64 per pair, on the host).
  std::vector<int64_t> exchange_counts(const std::vector<int64_t>& send_counts);
  // exchange_counts, then all_to_all_v: for when receivers do not know what they will get.
  AllToAllResult all_to_all(const torch::Tensor& send, const std::vector<int64_t>& send_counts);

  // Returns when every rank has called it.
  void barrier();

  // Point-to-point, not collective: `tensor` goes to rank `dst` with message tag `tag` (>= 0).
  // Blocking (may wait for the matching recv: order pairs of calls so they cannot deadlock).
  void send(const torch::Tensor& tensor, int dst, int tag);
  // Receives exactly tensor.numel() elements from `src` with `tag` into `tensor` (a contiguous
  // tensor with the sender's dtype and element count); a different count is an elm::Error.
  void recv(torch::Tensor& tensor, int src, int tag);

 protected:
  Communicator(int rank, int size, CommunicatorOptions options);

  // Backend hooks; tensors are contiguous and on the backend's device, counts validated.
  // Sum in place; dtype is reduction_dtype() of itself (f32, f64, i32, i64, u8).
  virtual void do_all_reduce_sum(torch::Tensor& tensor) = 0;
  virtual void do_broadcast(torch::Tensor& tensor, int root) = 0;
  // send/recv are [rows, row_elems]-shaped in memory (row_elems = numel / size(0)); counts in rows.
  virtual void do_all_to_all_v(const torch::Tensor& send, torch::Tensor& recv, const std::vector<int64_t>& send_counts,
                               const std::vector<int64_t>& recv_counts) = 0;
  virtual std::vector<int64_t> do_exchange_counts(const std::vector<int64_t>& send_counts) = 0;
  virtual void do_barrier() = 0;
  virtual void do_send(const torch::Tensor& tensor, int dst, int tag) = 0;
  virtual void do_recv(torch::Tensor& tensor, int src, int tag) = 0;
  // Throws elm::Error when `tensor` is not on this backend's device.
  virtual void check_device(const torch::Tensor& tensor, const char* op) const = 0;

  // Sets where() once the group's world rank is known (backends call it from their constructor).
  void describe(int world_rank, int world_size);
  // send/recv arguments: a defined tensor on this device, a valid peer other than this rank (as
  // `role`; `action` words the self case: "sending to"), a tag >= 0.
  void check_point_to_point(const torch::Tensor& tensor, int peer, int tag, const char* op, const char* role,
                            const char* action) const;

 private:
  void check_peer(int peer, const char* op, const char* role) const;

  int rank_;
  int size_;
  CommunicatorOptions options_;
  std::string where_;
};

}  // namespace elm::dist
