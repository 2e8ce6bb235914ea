// Multi-rank all-to-all: random counts with zeros, everything to one rank, rows of any dtype, and
// the count exchange. Rank r sends rank d rows that say (r, d, i), so receivers check every row.
#include <gtest/gtest.h>

#include <random>

#include "mpi/mpi_test_util.h"
#include "support/assertions.h"

namespace elm::dist {
namespace {

// Rows rank `src` sends rank `dst` in round `seed`: 0..6, often zero.
int64_t count(uint64_t seed, int src, int dst) {
  std::mt19937_64 rng(seed * 7919 + static_cast<uint64_t>(src) * 131 + static_cast<uint64_t>(dst));
  const int64_t n = static_cast<int64_t>(rng() % 10);
  return n < 4 ? 0 : n - 3;
}

// The rows for rank `dst`: [n, 3] int64 rows (src, dst, i).
torch::Tensor rows(int src, int dst, int64_t n) {
  torch::Tensor t = torch::empty({n, 3}, torch::kInt64);
  for (int64_t i = 0; i < n; ++i) {
    t[i][0] = src;
    t[i][1] = dst;
    t[i][2] = i;
  }
  return t;
}

TEST(AllToAll, RandomCountsWithZeros) {
  auto c = testing::world();
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::vector<int64_t> send_counts, want_recv;
    std::vector<torch::Tensor> parts, want_parts;
    for (int peer = 0; peer < c->size(); ++peer) {
      send_counts.push_back(count(seed, c->rank(), peer));
      parts.push_back(rows(c->rank(), peer, send_counts.back()));
      want_recv.push_back(count(seed, peer, c->rank()));
      want_parts.push_back(rows(peer, c->rank(), want_recv.back()));
    }
    AllToAllResult got = c->all_to_all(torch::cat(parts), send_counts);
    EXPECT_EQ(got.recv_counts, want_recv) << "seed " << seed;
    EXPECT_TRUE(torch::equal(got.data, torch::cat(want_parts))) << "seed " << seed;
    // The same exchange with counts known in advance.
    torch::Tensor again = c->all_to_all_v(torch::cat(parts), send_counts, want_recv);
    EXPECT_TRUE(torch::equal(again, got.data)) << "seed " << seed;
  }
}

TEST(AllToAll, EverythingToOneRank) {
  auto c = testing::world();
  const int target = c->size() - 1;
  std::vector<int64_t> send_counts(c->size(), 0);
  send_counts[target] = 1000 + c->rank();
  torch::Tensor send = torch::arange(send_counts[target], torch::kInt64) + 1000000 * c->rank();
  AllToAllResult got = c->all_to_all(send, send_counts);
  if (c->rank() == target) {
    std::vector<torch::Tensor> want;
    for (int r = 0; r < c->size(); ++r) {
      EXPECT_EQ(got.recv_counts[r], 1000 + r);
      want.push_back(torch::arange(1000 + r, torch::kInt64) + 1000000 * r);
    }
    EXPECT_TRUE(torch::equal(got.data, torch::cat(want)));
  } else {
    EXPECT_EQ(got.data.size(0), 0);
    EXPECT_EQ(got.recv_counts, std::vector<int64_t>(c->size(), 0));
  }
}

TEST(AllToAll, NobodySendsAnything) {
  auto c = testing::world();
  AllToAllResult got = c->all_to_all(torch::zeros({0, 16}, torch::kInt32), std::vector<int64_t>(c->size(), 0));
  EXPECT_EQ(got.data.sizes().vec(), (std::vector<int64_t>{0, 16}));
}

TEST(AllToAll, RowsOfFloatsAndBFloat16) {
  // Bank-like rows: [n, 4, 2] float32 and [n, 16] bfloat16, two rows to every rank.
  auto c = testing::world();
  const std::vector<int64_t> counts(c->size(), 2);
  torch::Tensor f = testing::rank_input(11, c->rank(), {2 * c->size(), 4, 2});
  torch::Tensor h = testing::rank_input(12, c->rank(), {2 * c->size(), 16}, torch::kBFloat16);
  torch::Tensor got_f = c->all_to_all_v(f, counts, counts);
  torch::Tensor got_h = c->all_to_all_v(h, counts, counts);
  for (int src = 0; src < c->size(); ++src) {
    torch::Tensor their_f = testing::rank_input(11, src, {2 * c->size(), 4, 2});
    torch::Tensor their_h = testing::rank_input(12, src, {2 * c->size(), 16}, torch::kBFloat16);
    EXPECT_TRUE(torch::equal(got_f.narrow(0, 2 * src, 2), their_f.narrow(0, 2 * c->rank(), 2))) << src;
    EXPECT_TRUE(torch::equal(got_h.narrow(0, 2 * src, 2), their_h.narrow(0, 2 * c->rank(), 2))) << src;
  }
}

TEST(AllToAll, WrongCountsAreErrorsNamingTheRank) {
  auto c = testing::world();
  // Every rank makes the same mistake, so no rank is left waiting in a collective.
  std::vector<int64_t> counts(c->size(), 1);
  const std::string message =
      elm::testing::error_of([&] { c->all_to_all_v(torch::zeros({c->size() + 1}), counts, counts); });
  EXPECT_CONTAINS(message, "all_to_all_v on rank " + std::to_string(c->rank()) + " of " + std::to_string(c->size()));
  EXPECT_CONTAINS(message, "rows but the send tensor has " + std::to_string(c->size() + 1));
  c->barrier();
}

}  // namespace
}  // namespace elm::dist
