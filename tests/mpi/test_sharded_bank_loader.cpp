// Loading a sharded bank from a bank file: every rank reads only its rows (a slab for block, a
// strided hyperslab for cyclic) and the loaded shards answer like the whole file loaded on one
// process.
#include <gtest/gtest.h>

#include <filesystem>

#include "dist/sharded_bank_loader.h"
#include "memory/bank.h"
#include "memory/bank_reader.h"
#include "mpi_test_util.h"

namespace elm::dist {
namespace {

// Rank 0 writes a bank of n entries (some invalid) to a file every rank can read.
std::string write_bank(Communicator& comm, int64_t n, int64_t l) {
  const auto path = (std::filesystem::path(ELM_BINARY_DIR) / "test-tmp" / "dist" /
                     ("sharded-bank-" + std::to_string(n) + "-np" + std::to_string(comm.size()) + ".h5"))
                        .string();
  if (comm.rank() == 0) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    memory::MemoryBank bank;
    bank.num_entries = n;
    bank.entry_length = l;
    auto gen = at::detail::createCPUGenerator(11);
    bank.tokens = torch::randint(1, 1000, {n, l}, gen, torch::kInt64).to(torch::kInt32);
    bank.valid = torch::rand({n}, gen).gt(0.25);
    for (int64_t i = 0; i < n; ++i) {
      if (!bank.valid[i].item<bool>()) bank.tokens[i].fill_(0);  // invalid entries are all padding
    }
    bank.texts.assign(static_cast<size_t>(n), "");
    bank.token_counts.assign(static_cast<size_t>(n), static_cast<int32_t>(l));
    bank.meta.pad_id = 0;
    bank.meta.vocab_size = 1000;
    memory::save_bank(path, bank);
  }
  comm.barrier();
  return path;
}

class ShardedBankLoader : public ::testing::TestWithParam<BankSharding> {};

TEST_P(ShardedBankLoader, ShardsFromTheFileAnswerLikeTheWholeFile) {
  auto comm = testing::world();
  for (int64_t n : {1, 64, 100}) {  // perfect squares (the router grid); with 4 ranks, 1 leaves 3 without rows
    const auto path = write_bank(*comm, n, 8);
    auto sharded = load_sharded_bank(*comm, path, GetParam());
    EXPECT_EQ(sharded->num_entries(), n);
    EXPECT_EQ(sharded->shard_bytes(), sharded->layout().rows_of(comm->rank()) * (8 * 4 + 1));
    const auto whole = memory::load_bank(path);
    memory::LocalBankReader local(whole.tokens, whole.valid, whole.meta.pad_id);
    auto all = torch::arange(n, torch::kInt64).view({1, -1});
    auto got = sharded->fetch(all);
    auto want = local.fetch(all);
    EXPECT_TRUE(torch::equal(got.tokens, want.tokens)) << "n=" << n << " " << sharding_name(GetParam());
    EXPECT_TRUE(torch::equal(got.valid, want.valid)) << "n=" << n << " " << sharding_name(GetParam());
  }
}

INSTANTIATE_TEST_SUITE_P(Dist, ShardedBankLoader, ::testing::Values(BankSharding::kBlock, BankSharding::kCyclic),
                         [](const auto& info) { return std::string(sharding_name(info.param)); });

}  // namespace
}  // namespace elm::dist
