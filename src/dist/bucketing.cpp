#include "dist/bucketing.h"

#include "core/error.h"

namespace elm::dist {

std::vector<Bucket> plan_buckets(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes) {
  ELM_CHECK(bucket_bytes > 0, "all-reduce bucket size must be > 0 bytes, got ", bucket_bytes);
  // Groups in order of first appearance; each group's buckets are appended when it is complete,
  // so the plan lists every bucket of the first dtype before the second.
  struct Group {
    torch::ScalarType dtype;
    torch::Device device;
    std::vector<Bucket> buckets;
  };
  std::vector<Group> groups;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const torch::Tensor& t = tensors[i];
    ELM_CHECK(t.defined(), "all-reduce: tensor ", i, " of ", tensors.size(), " is undefined");
    if (t.numel() == 0) continue;
    Group* group = nullptr;
    for (Group& g : groups) {
      if (g.dtype == t.scalar_type() && g.device == t.device()) group = &g;
    }
    if (group == nullptr) {
      groups.push_back(Group{t.scalar_type(), t.device(), {}});
      group = &groups.back();
    }
    const int64_t bytes = t.numel() * static_cast<int64_t>(t.element_size());
    if (group->buckets.empty() || group->buckets.back().bytes + bytes > bucket_bytes) {
      group->buckets.push_back(Bucket{t.scalar_type(), t.device(), {}, 0, 0});
    }
    Bucket& bucket = group->buckets.back();
    bucket.tensors.push_back(i);
    bucket.numel += t.numel();
    bucket.bytes += bytes;
  }
  std::vector<Bucket> plan;
  for (Group& g : groups) {
    for (Bucket& b : g.buckets) plan.push_back(std::move(b));
  }
  return plan;
}

}  // namespace elm::dist
