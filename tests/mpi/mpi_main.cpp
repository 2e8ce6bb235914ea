// main() of the multi-rank tests (run under mpiexec -n 2 and -n 4; see tests/CMakeLists.txt).
//
// Every rank runs every test in the same order, so the collectives inside them line up. Rank 0
// prints GoogleTest's usual output; the other ranks print only their failures, tagged with the
// rank. The exit code is the worst over all ranks, so a failure on any rank fails the ctest.
#include <gtest/gtest.h>

#include <cstdio>

#include "dist/mpi_env.h"

namespace {

class FailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: Failure\n%s\n", rank_, result.file_name() ? result.file_name() : "?",
                 result.line_number(), result.message());
  }
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (info.result()->Failed()) {
      std::fprintf(stderr, "[rank %d] [  FAILED  ] %s.%s\n", rank_, info.test_suite_name(), info.name());
    }
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  elm::dist::MpiEnvironment mpi(&argc, &argv);
  if (mpi.world_rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter(mpi.world_rank()));
  }
  int local = RUN_ALL_TESTS();
  int worst = 0;
  MPI_Allreduce(&local, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (mpi.world_rank() == 0 && worst != local) {
    std::fprintf(stderr, "tests failed on another rank (see the [rank N] lines)\n");
  }
  return worst;
}
