// The sharded bank under several ranks: fetch() equals a replicated bank's, bit for bit, for both
// shardings, random and adversarial index sets (all to one owner, duplicates, empty requests,
// shard edges, ranks that own nothing), and different request shapes on different ranks.
#include <gtest/gtest.h>

#include "core/error.h"
#include "dist/sharded_bank_reader.h"
#include "memory/bank_reader.h"
#include "mpi_test_util.h"

namespace elm::dist {
namespace {

struct FullBank {
  torch::Tensor tokens, valid;
};

// The same bank on every rank (seeded), with some invalid entries.
FullBank make_bank(int64_t n, int64_t l, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto tokens = torch::randint(0, 151936, {n, l}, gen, torch::kInt64).to(torch::kInt32);
  auto valid = torch::rand({n}, gen).gt(0.2);
  return {tokens, valid};
}

void expect_same_as_replicated(Communicator& comm, const FullBank& bank, BankSharding sharding,
                               const std::vector<torch::Tensor>& requests_of_this_rank) {
  const int64_t n = bank.tokens.size(0), l = bank.tokens.size(1);
  ShardLayout layout(n, comm.size(), sharding);
  auto [tokens, valid] = slice_shard(layout, comm.rank(), bank.tokens, bank.valid);
  ShardedBankReader sharded(comm, layout, tokens, valid, l, 151643);
  memory::LocalBankReader replicated(bank.tokens, bank.valid, 151643);
  for (const auto& indices : requests_of_this_rank) {
    auto got = sharded.fetch(indices);
    auto want = replicated.fetch(indices);
    ASSERT_EQ(got.tokens.sizes(), want.tokens.sizes());
    EXPECT_TRUE(torch::equal(got.tokens, want.tokens)) << sharding_name(sharding) << " " << comm.where();
    EXPECT_TRUE(torch::equal(got.valid, want.valid)) << sharding_name(sharding) << " " << comm.where();
  }
}

class ShardedBank : public ::testing::TestWithParam<BankSharding> {};

TEST_P(ShardedBank, RandomRequestsEqualAReplicatedBank) {
  auto comm = testing::world();
  const auto bank = make_bank(4096, 16, 1);
  auto gen = at::detail::createCPUGenerator(100 + comm->rank());
  std::vector<torch::Tensor> requests;
  for (int i = 0; i < 4; ++i) requests.push_back(torch::randint(0, 4096, {2, 5, 8}, gen, torch::kInt64));
  expect_same_as_replicated(*comm, bank, GetParam(), requests);
}

TEST_P(ShardedBank, AdversarialRequestsEqualAReplicatedBank) {
  auto comm = testing::world();
  const int g = comm->size();
  const int64_t n = 50;  // not a multiple of 4: the last block is short
  const auto bank = make_bank(n, 16, 2);
  ShardLayout layout(n, g, GetParam());
  std::vector<torch::Tensor> requests;
  // Everything to rank 0's rows, from every rank.
  std::vector<int64_t> zero_rows;
  for (int64_t i = 0; i < layout.rows_of(0); ++i) zero_rows.push_back(layout.global_index(0, i));
  requests.push_back(torch::tensor(zero_rows, torch::kInt64).repeat({3}));
  // One index asked many times.
  requests.push_back(torch::full({7, 9}, 17, torch::kInt64));
  // Empty requests on odd ranks, a full sweep on the others.
  requests.push_back(comm->rank() % 2 ? torch::empty({0}, torch::kInt64) : torch::arange(n - 1, -1, -1));
  // Everyone empty.
  requests.push_back(torch::empty({0, 8}, torch::kInt64));
  // Shard edges: the first and last entry of every rank.
  std::vector<int64_t> edges;
  for (int r = 0; r < g; ++r) {
    if (layout.rows_of(r) == 0) continue;
    edges.push_back(layout.global_index(r, 0));
    edges.push_back(layout.global_index(r, layout.rows_of(r) - 1));
  }
  requests.push_back(torch::tensor(edges, torch::kInt64).view({1, -1}));
  expect_same_as_replicated(*comm, bank, GetParam(), requests);
}

TEST_P(ShardedBank, RanksThatOwnNothingStillServeAndAsk) {
  auto comm = testing::world();
  const auto bank = make_bank(3, 4, 3);  // fewer entries than ranks with -np 4
  expect_same_as_replicated(*comm, bank, GetParam(), {torch::tensor({2, 0, 1, 2}, torch::kInt64)});
}

TEST_P(ShardedBank, StatsCountWhatCrossedTheNetwork) {
  auto comm = testing::world();
  const auto bank = make_bank(64, 8, 4);
  ShardLayout layout(64, comm->size(), GetParam());
  auto [tokens, valid] = slice_shard(layout, comm->rank(), bank.tokens, bank.valid);
  ShardedBankReader sharded(*comm, layout, tokens, valid, 8, 0);
  sharded.fetch(torch::tensor({5, 5, 6, 63, 0}, torch::kInt64));
  EXPECT_EQ(sharded.last_stats().requested, 5);
  EXPECT_EQ(sharded.last_stats().unique, 4);
  int64_t own = 0;
  for (int64_t i : {5, 6, 63, 0}) own += layout.owner(torch::tensor({i})).item<int64_t>() == comm->rank();
  EXPECT_EQ(sharded.last_stats().remote, 4 - own);
  EXPECT_EQ(sharded.shard_bytes(), layout.rows_of(comm->rank()) * (8 * 4 + 1));
}

TEST_P(ShardedBank, OutOfRangeIndexIsAnErrorBeforeAnyExchange) {
  auto comm = testing::world();
  const auto bank = make_bank(16, 4, 5);
  ShardLayout layout(16, comm->size(), GetParam());
  auto [tokens, valid] = slice_shard(layout, comm->rank(), bank.tokens, bank.valid);
  ShardedBankReader sharded(*comm, layout, tokens, valid, 4, 0);
  // Every rank fails the same way, so no rank waits in the exchange.
  try {
    sharded.fetch(torch::tensor({3, 16}, torch::kInt64));
    FAIL() << "no error";
  } catch (const elm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bank index 16 is outside [0, 16)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("rank"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Dist, ShardedBank, ::testing::Values(BankSharding::kBlock, BankSharding::kCyclic),
                         [](const auto& info) { return std::string(sharding_name(info.param)); });

}  // namespace
}  // namespace elm::dist
