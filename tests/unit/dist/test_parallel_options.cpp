// [parallel] keys, backend choice, and the Slurm world-size check.
#include <gtest/gtest.h>

#include "support/assertions.h"
#include "core/config.h"
#include "dist/communicator_factory.h"
#include "dist/mpi_env.h"
#include "dist/parallel_options.h"

namespace elm::dist {
namespace {

using elm::testing::error_of;

TEST(ParallelOptions, DefaultsFromTheSchema) {
  ParallelOptions o = ParallelOptions::from_config(Config());
  EXPECT_EQ(o.pp, 1);
  EXPECT_EQ(o.dp, 0);
  EXPECT_DOUBLE_EQ(o.timeout_seconds, 600.0);
  EXPECT_DOUBLE_EQ(o.bucket_mb, 25.0);
  EXPECT_EQ(o.backend, Backend::automatic);
  CommunicatorOptions c = o.communicator_options("dp group of stage 0");
  EXPECT_EQ(c.bucket_bytes, 25 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(c.timeout_seconds, 600.0);
  EXPECT_EQ(c.name, "dp group of stage 0");
}

TEST(ParallelOptions, ReadsOverridesAndValidates) {
  Config c;
  c.apply_cli({"parallel.dp=4", "parallel.timeout_seconds=2.5", "parallel.bucket_mb=0.5", "parallel.backend=mpi"});
  ParallelOptions o = ParallelOptions::from_config(c);
  EXPECT_EQ(o.dp, 4);
  EXPECT_DOUBLE_EQ(o.timeout_seconds, 2.5);
  EXPECT_EQ(o.communicator_options("world").bucket_bytes, 512 * 1024);
  EXPECT_EQ(o.backend, Backend::mpi);
  EXPECT_CONTAINS(error_of([&] { c.apply_override("parallel.pp=0"); }), "must be >= 1");
  EXPECT_CONTAINS(error_of([&] { c.apply_override("parallel.timeout_seconds=0"); }), "must be > 0");
  EXPECT_CONTAINS(error_of([&] { c.apply_override("parallel.backend=gloo"); }), "one of: auto, mpi, nccl");
  EXPECT_CONTAINS(error_of([] { parse_backend("gloo"); }), "parallel.backend = \"gloo\" must be one of");
}

TEST(Backend, AutoPicksByDevice) {
  const torch::Device cpu(torch::kCPU), gpu(torch::kCUDA, 0);
  EXPECT_EQ(resolve_backend(Backend::automatic, cpu, true), Backend::mpi);
  EXPECT_EQ(resolve_backend(Backend::automatic, gpu, true), Backend::nccl);
  EXPECT_EQ(resolve_backend(Backend::mpi, cpu, false), Backend::mpi);
  EXPECT_EQ(resolve_backend(Backend::nccl, gpu, true), Backend::nccl);
}

TEST(Backend, ImpossibleCombinationsAreErrors) {
  const torch::Device cpu(torch::kCPU), gpu(torch::kCUDA, 0);
  EXPECT_CONTAINS(error_of([&] { resolve_backend(Backend::automatic, gpu, false); }),
                  "built without NCCL (the MPI backend moves host memory only)");
  EXPECT_CONTAINS(error_of([&] { resolve_backend(Backend::nccl, cpu, true); }),
                  "parallel.backend = nccl needs CUDA tensors, but the tensors are on cpu");
  EXPECT_CONTAINS(error_of([&] { resolve_backend(Backend::nccl, gpu, false); }),
                  "parallel.backend = nccl but this binary was built without NCCL");
  EXPECT_CONTAINS(error_of([&] { resolve_backend(Backend::mpi, gpu, true); }),
                  "the MPI backend takes CPU tensors, but the tensors are on cuda:0");
}

TEST(SlurmCheck, SingletonsUnderSrunAreCaught) {
  const std::string problem = slurm_world_size_problem(std::string("4"), 1, false);
  EXPECT_CONTAINS(problem, "SLURM_NTASKS=4 but the MPI world has 1 rank:");
  EXPECT_CONTAINS(problem, "srun --mpi=pmix");
  EXPECT_CONTAINS(slurm_world_size_problem(std::string("2"), 4, false), "SLURM_NTASKS=2 but the MPI world has 4 ranks");
  EXPECT_CONTAINS(slurm_world_size_problem(std::string("four"), 4, false), "SLURM_NTASKS");
}

TEST(SlurmCheck, MatchingWorldsNoSlurmAndMpirunPass) {
  EXPECT_EQ(slurm_world_size_problem(std::string("4"), 4, false), "");
  EXPECT_EQ(slurm_world_size_problem(std::nullopt, 3, false), "");
  // mpirun inside a larger allocation may start fewer ranks on purpose.
  EXPECT_EQ(slurm_world_size_problem(std::string("8"), 2, true), "");
}

}  // namespace
}  // namespace elm::dist
