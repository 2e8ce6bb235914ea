#pragma once
// How all_reduce_mean groups tensors into buckets: one all-reduce per bucket instead of one per
// tensor (thousands of small gradient tensors would each pay the collective's latency).
//
// Tensors are grouped by (dtype, device) in order of first appearance; within a group they are
// packed in list order, and a bucket is closed when the next tensor would take it above
// bucket_bytes (counted in the tensors' own dtype). A tensor larger than bucket_bytes forms a
// bucket of its own (never split). Empty tensors are in no bucket. The plan depends only on the
// tensors' order, dtypes, devices and sizes, so ranks holding the same parameter list make the
// same plan and their collectives line up.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace elm::dist {

struct Bucket {
  torch::ScalarType dtype = torch::kFloat32;
  torch::Device device = torch::kCPU;
  std::vector<size_t> tensors;  // indices into the input list, in order
  int64_t numel = 0;
  int64_t bytes = 0;  // numel * element size of dtype
};

// bucket_bytes must be > 0 (elm::Error otherwise).
std::vector<Bucket> plan_buckets(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes);

}  // namespace elm::dist
