#include "dist/sharded_bank_reader.h"

#include "core/error.h"

namespace elm::dist {

namespace {

std::vector<int64_t> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kInt64).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> slice_shard(const ShardLayout& layout, int rank, const torch::Tensor& tokens,
                                                    const torch::Tensor& valid) {
  ELM_CHECK(tokens.dim() == 2 && tokens.size(0) == layout.num_entries() && valid.dim() == 1 &&
                valid.size(0) == layout.num_entries(),
            "slice_shard: the bank must be tokens [N, L] and valid [N] with N = ", layout.num_entries());
  const int64_t rows = layout.rows_of(rank);
  torch::Tensor globals;
  if (layout.sharding() == BankSharding::kBlock) {
    globals = torch::arange(layout.first_of(rank), layout.first_of(rank) + rows, torch::kInt64);
  } else {
    globals = torch::arange(0, rows, torch::kInt64) * layout.group_size() + rank;
  }
  return {tokens.index_select(0, globals), valid.index_select(0, globals)};
}

ShardedBankReader::ShardedBankReader(Communicator& comm, ShardLayout layout, torch::Tensor tokens,
                                     torch::Tensor valid, int64_t entry_length, int64_t pad_id)
    : comm_(comm), layout_(std::move(layout)), entry_length_(entry_length), pad_id_(pad_id) {
  ELM_CHECK(layout_.group_size() == comm.size(), "sharded bank: the layout is for ", layout_.group_size(),
            " ranks but the group has ", comm.size(), " (", comm.where(), ")");
  const int64_t rows = layout_.rows_of(comm.rank());
  ELM_CHECK(tokens.dim() == 2 && tokens.size(0) == rows && tokens.size(1) == entry_length,
            "sharded bank: ", comm.where(), " must hold tokens [", rows, ", ", entry_length, "], got ", tokens.sizes());
  ELM_CHECK(valid.dim() == 1 && valid.size(0) == rows, "sharded bank: ", comm.where(), " must hold valid [", rows,
            "], got ", valid.sizes());
  tokens_ = tokens.to(torch::kInt32).contiguous();
  valid_ = valid.to(torch::kBool).contiguous();
  // Every rank must describe the same bank: compare (N, L, pad, sharding) with rank 0's.
  auto mine = torch::tensor({layout_.num_entries(), entry_length, pad_id, static_cast<int64_t>(layout_.sharding())},
                            torch::kInt64);
  auto root = mine.clone();
  comm.broadcast(root, 0);
  ELM_CHECK(torch::equal(mine, root), "sharded bank: ", comm.where(), " has (N, L, pad id, sharding) = ",
            to_vector(mine), " but rank 0 has ", to_vector(root));
}

int64_t ShardedBankReader::shard_bytes() const {
  return tokens_.numel() * static_cast<int64_t>(tokens_.element_size()) + valid_.numel();
}

memory::BankRows ShardedBankReader::fetch(const torch::Tensor& indices) const {
  const int g = comm_.size();
  const int64_t L = entry_length_;
  auto flat = indices.reshape({-1}).to(torch::kCPU, torch::kInt64);
  memory::check_bank_indices(flat, num_entries(), " (" + comm_.where() + ")");
  // 1. Deduplicate: each entry crosses the network once per rank and call.
  torch::Tensor unique, inverse;
  std::tie(unique, inverse, std::ignore) = torch::_unique2(flat, /*sorted=*/true, /*return_inverse=*/true);
  // 2. Group by owner (stable, so block sharding keeps the sorted order it already has).
  auto owners = layout_.owner(unique);
  auto order = torch::argsort(owners * (num_entries() + 1) + unique);  // by owner, then index
  auto requests = unique.index_select(0, order);
  auto send_counts = to_vector(torch::bincount(owners, /*weights=*/{}, g));
  std::vector<int64_t> recv_counts = comm_.exchange_counts(send_counts);
  auto asked = comm_.all_to_all_v(requests, send_counts, recv_counts);  // global indices others want from me
  // 3. Gather the rows asked of this rank: tokens and validity in one int32 row each.
  auto local = layout_.local_row(asked);
  auto reply = torch::cat({tokens_.index_select(0, local), valid_.index_select(0, local).to(torch::kInt32).unsqueeze(1)},
                          1);
  // 4. Rows go back; what comes from rank r answers what was sent to r, in the same order.
  auto rows = comm_.all_to_all_v(reply, recv_counts, send_counts);  // [unique, L + 1], in `requests` order
  // 5. Undo the owner order, then the deduplication.
  auto by_unique = torch::empty_like(rows);
  by_unique.index_copy_(0, order, rows);
  auto out = by_unique.index_select(0, inverse.reshape({-1}));

  stats_.requested = flat.numel();
  stats_.unique = unique.numel();
  stats_.remote = unique.numel() - send_counts[static_cast<size_t>(comm_.rank())];
  int64_t asked_total = 0;
  for (auto c : recv_counts) asked_total += c;
  // Indices travel as int64, rows as L + 1 int32 (the tokens and the validity flag).
  stats_.bytes_sent = unique.numel() * 8 + asked_total * (L + 1) * 4;
  stats_.bytes_received = asked_total * 8 + unique.numel() * (L + 1) * 4;

  auto shape = indices.sizes().vec();
  auto token_shape = shape;
  token_shape.push_back(L);
  return {out.narrow(1, 0, L).to(torch::kInt64).reshape(token_shape), out.select(1, L).ne(0).reshape(shape)};
}

}  // namespace elm::dist
