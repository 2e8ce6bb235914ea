#include "train/data_parallel.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/logging.h"

namespace elm::train {

RowRange shard_rows(int64_t n, int ranks, int rank) {
  ELM_CHECK(n >= 0 && ranks >= 1 && rank >= 0 && rank < ranks, "shard_rows: ", n, " rows, rank ", rank, " of ",
            ranks);
  const int64_t base = n / ranks, extra = n % ranks;
  RowRange r;
  r.begin = rank * base + std::min<int64_t>(rank, extra);
  r.end = r.begin + base + (rank < extra ? 1 : 0);
  return r;
}

namespace {

uint64_t mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// FNV-1a over a tensor's bytes (CPU, contiguous copy when needed).
uint64_t hash_bytes(const torch::Tensor& t) {
  auto c = t.detach().cpu().contiguous();
  const auto* p = static_cast<const unsigned char*>(c.data_ptr());
  const size_t n = static_cast<size_t>(c.numel()) * c.element_size();
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

}  // namespace

uint64_t row_seed(uint64_t seed, int64_t step, int64_t micro, int64_t row) {
  uint64_t x = mix64(seed + 0x9e3779b97f4a7c15ULL);
  x = mix64(x ^ static_cast<uint64_t>(step));
  x = mix64(x ^ (static_cast<uint64_t>(micro) << 32) ^ static_cast<uint64_t>(row));
  return x;
}

SliceRows slice_rows(const std::vector<int64_t>& global_rows, RowRange range, uint64_t seed, int64_t step,
                     int64_t micro) {
  SliceRows out;
  out.placeholder = range.empty();
  if (out.placeholder) range = RowRange{0, 1};
  ELM_CHECK(range.end <= static_cast<int64_t>(global_rows.size()), "slice_rows: rows [", range.begin, ", ", range.end,
            ") of a micro-batch of ", global_rows.size());
  for (int64_t i = range.begin; i < range.end; ++i) {
    out.rows.push_back(global_rows[static_cast<size_t>(i)]);
    out.seeds.push_back(row_seed(seed, step, micro, i));
  }
  return out;
}

void sum_over_ranks(dist::Communicator* group, std::vector<double>& values) {
  if (!group || group->size() == 1) return;
  auto t = torch::tensor(values, torch::kFloat64);
  group->all_reduce_sum(t);
  values.assign(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

void all_reduce_gradients(dist::Communicator& group, const NamedTensors& params) {
  // Which parameters have a gradient on some rank: one that has none anywhere (e.g. the fusion in
  // the router stage) stays without one, so AdamW skips it as it does in one process.
  auto present = torch::zeros({static_cast<int64_t>(params.size())}, torch::kFloat32);
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].second.grad().defined()) present[static_cast<int64_t>(i)] = 1.0f;
  }
  group.all_reduce_sum(present);
  std::vector<torch::Tensor> grads;
  grads.reserve(params.size());
  for (const auto& [name, p] : params) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  group.all_reduce_mean(grads);
  for (size_t i = 0; i < params.size(); ++i) {
    if (present[static_cast<int64_t>(i)].item<float>() == 0.0f) params[i].second.mutable_grad() = torch::Tensor();
  }
}

void check_parameters_agree(dist::Communicator& group, const NamedTensors& params, int64_t step, const char* between) {
  if (group.size() == 1) return;
  auto hashes = torch::empty({static_cast<int64_t>(params.size())}, torch::kInt64);
  for (size_t i = 0; i < params.size(); ++i) {
    const uint64_t h = hash_bytes(params[i].second);
    int64_t v;
    std::memcpy(&v, &h, sizeof v);
    hashes[static_cast<int64_t>(i)] = v;
  }
  auto root = hashes.clone();
  group.broadcast(root, 0);
  auto differ = hashes.ne(root);
  auto bad = torch::tensor({differ.sum().item<int64_t>()}, torch::kInt64);
  if (bad.item<int64_t>() > 0) {
    const int64_t first = differ.to(torch::kInt64).argmax().item<int64_t>();
    ELM_LOG(error) << "step " << step << ": parameter " << params[static_cast<size_t>(first)].first << " on "
                   << group.where() << " differs from rank 0's";
  }
  group.all_reduce_sum(bad);
  ELM_CHECK(bad.item<int64_t>() == 0, "step ", step, ": the parameters differ between ", between, " (",
            bad.item<int64_t>(), " tensor copies differ from rank 0's; see the rank logs): the ranks no longer train "
            "the same model");
}

std::pair<torch::Tensor, torch::Tensor> gather_bank(const memory::BankReader& reader, int64_t chunk) {
  ELM_CHECK(chunk >= 1, "gather_bank: chunk must be >= 1");
  const int64_t n = reader.num_entries(), l = reader.entry_length();
  auto tokens = torch::empty({n, l}, torch::kInt32);
  auto valid = torch::empty({n}, torch::kBool);
  // The same chunk boundaries on every rank: the reader's collective calls line up.
  for (int64_t first = 0; first < n; first += chunk) {
    const int64_t count = std::min(chunk, n - first);
    memory::BankRows rows = reader.fetch(torch::arange(first, first + count, torch::kInt64));
    tokens.narrow(0, first, count).copy_(rows.tokens);
    valid.narrow(0, first, count).copy_(rows.valid);
  }
  return {tokens, valid};
}

}  // namespace elm::train
