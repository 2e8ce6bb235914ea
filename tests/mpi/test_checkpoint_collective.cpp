// The collective checkpoint writer on 2 and 4 ranks: every rank writes its own part (a parameter it
// owns, its optimizer entry, its cyclic rows of the bank, its RNG state) into one file; the file
// reads back on one process as the whole state, its checksums verify, every transfer was
// collective, and a rank whose header disagrees stops every rank with the same error, no hang.
#include <gtest/gtest.h>

#include <filesystem>

#include "dist/bank_sharding.h"
#include "dist/sharded_bank_reader.h"
#include "mpi_test_util.h"
#include "train/checkpoint.h"
#include "train/checkpointer.h"

namespace elm::train {
namespace {

namespace fs = std::filesystem;

fs::path scratch(const std::string& name, int ranks) {
  return fs::path(ELM_BINARY_DIR) / "test-tmp" / "dist" / ("checkpoint-" + name + "-np" + std::to_string(ranks));
}

// The whole bank every rank can compute: 37 entries of 5 tokens.
torch::Tensor whole_tokens() { return torch::arange(37 * 5, torch::kInt32).reshape({37, 5}); }
torch::Tensor whole_valid() { return torch::arange(37).remainder(3).ne(0); }

// Rank r's part: parameter "p<r>" ([r + 1, 3], values from r), its step entry, its cyclic rows.
TrainingState part_of(int rank, int world, int64_t step) {
  TrainingState s;
  s.step = step;
  s.stage = "joint";
  s.config_text = "[training]\nstage = \"joint\"\n";
  s.cursor = {1, 12, 99};
  s.schedule.peak = 1e-3;
  s.schedule.total_steps = 10;
  s.metrics_json = R"({"step":3})";
  s.rank = rank;
  s.world_size = world;
  s.rng_state = torch::full({8}, rank + 1, torch::kUInt8);
  const std::string name = "p" + std::to_string(rank);
  s.parameters = {{name, torch::full({rank + 1, 3}, 0.5f * static_cast<float>(rank))}};
  s.optimizer = {{name + ".step", torch::tensor(int64_t{step})}};
  const dist::ShardLayout layout(37, world, dist::BankSharding::kCyclic);
  auto [tokens, valid] = dist::slice_shard(layout, rank, whole_tokens(), whole_valid());
  s.bank = {{"tokens", tokens}, {"valid", valid}};
  s.bank_rows = {37, rank, world};
  return s;
}

TEST(CheckpointCollective, EveryRankWritesItsPartOfOneFile) {
  auto world = dist::testing::world();
  const int rank = world->rank(), n = world->size();
  const fs::path dir = scratch("parts", n);
  if (rank == 0) fs::create_directories(dir);
  world->barrier();
  const std::string path = (dir / "c.h5").string();
  const CheckpointWriteStats stats = write_checkpoint_collective(path, part_of(rank, n, 3), MPI_COMM_WORLD);
  // Every raw-data transfer was done collectively: HDF5 did not fall back to independent I/O.
  EXPECT_GT(stats.io.collective_writes, 0);
  EXPECT_EQ(stats.io.independent_writes, 0) << (stats.io.fallbacks.empty() ? "" : stats.io.fallbacks[0]);
  EXPECT_TRUE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  const TrainingState r = read_checkpoint(path);
  EXPECT_EQ(r.step, 3);
  EXPECT_EQ(r.world_size, n);
  ASSERT_EQ(r.parameters.size(), static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) {
    EXPECT_EQ(r.parameters[static_cast<size_t>(k)].first, "p" + std::to_string(k));  // in rank order
    EXPECT_TRUE(torch::equal(r.parameters[static_cast<size_t>(k)].second,
                             torch::full({k + 1, 3}, 0.5f * static_cast<float>(k))));
  }
  ASSERT_EQ(r.bank.size(), 2u);
  EXPECT_TRUE(torch::equal(r.bank[0].second, whole_tokens()));
  EXPECT_TRUE(torch::equal(r.bank[1].second, whole_valid()));
  ASSERT_EQ(r.rng_states.sizes(), (std::vector<int64_t>{n, 8}));
  for (int k = 0; k < n; ++k) EXPECT_EQ(r.rng_states[k][0].item<int>(), k + 1);
  const CheckpointVerification v = verify_checkpoint(path);
  EXPECT_TRUE(v.ok()) << (v.problems.empty() ? "" : v.problems[0]);

  // A rank of another grid reads its own shard of the bank back (here: block rows of 2 ranks).
  const dist::ShardLayout half(37, 2, dist::BankSharding::kBlock);
  CheckpointSelection sel;
  sel.bank_rows = CheckpointSelection::Rows{half.first_of(1), half.rows_of(1), 1};
  const TrainingState mine = read_checkpoint_part(path, sel);
  EXPECT_TRUE(torch::equal(mine.bank[0].second, whole_tokens().slice(0, half.first_of(1))));
}

TEST(CheckpointCollective, TheCheckpointerPublishesLatestOnce) {
  auto world = dist::testing::world();
  const int rank = world->rank(), n = world->size();
  CheckpointOptions o;
  o.dir = scratch("dir", n).string();
  if (rank == 0) fs::remove_all(o.dir);
  world->barrier();
  Checkpointer c(o);
  for (int64_t step : {1, 2, 3}) {
    const std::string path = c.save(part_of(rank, n, step), MPI_COMM_WORLD);
    EXPECT_EQ(fs::path(path).filename(), checkpoint_file_name(step));
  }
  world->barrier();
  EXPECT_EQ(c.list().size(), 2u);  // keep_latest_k = 2
  EXPECT_EQ(*c.resolve_resume(), (fs::path(o.dir) / "step-00000003.h5").string());
}

TEST(CheckpointCollective, ARankThatDisagreesStopsEveryRankBeforeAnyFileIsMade) {
  auto world = dist::testing::world();
  const int rank = world->rank(), n = world->size();
  const fs::path dir = scratch("disagree", n);
  if (rank == 0) fs::create_directories(dir);
  world->barrier();
  const std::string path = (dir / "c.h5").string();
  // The last rank is a step ahead: every rank throws the same error.
  TrainingState s = part_of(rank, n, rank == n - 1 ? 4 : 3);
  std::string msg;
  try {
    write_checkpoint_collective(path, s, MPI_COMM_WORLD);
  } catch (const std::exception& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("disagrees with rank 0"), std::string::npos) << msg;
  // Two ranks claiming one parameter: refused on every rank too.
  TrainingState twice = part_of(rank, n, 3);
  twice.parameters = {{"shared", torch::zeros({2})}};
  msg.clear();
  try {
    write_checkpoint_collective(path, twice, MPI_COMM_WORLD);
  } catch (const std::exception& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("/parameters/shared has 2 rows but the ranks hold"), std::string::npos) << msg;
  world->barrier();
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

}  // namespace
}  // namespace elm::train
