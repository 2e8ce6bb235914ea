#include "dist/abort.h"

#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "core/logging.h"

namespace elm::dist {

[[noreturn]] void abort_all(const std::string& message, int exit_code) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  const bool mpi_up = initialized && !finalized;
  int rank = log::rank();
  if (mpi_up) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const std::string line = "rank " + std::to_string(rank) + ": " + message + "; aborting the job";
  // The log (rank N's file; the console only for rank 0) and, for the other ranks, stderr
  // directly: the console log shows rank 0 only, and this line matters on every rank.
  log::write(log::Level::error, line);
  if (rank != 0 || log::rank() != 0) {
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  }
  if (mpi_up) {
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    // MPI_Abort should not return; if the runtime cannot reach the launcher, leave anyway (the
    // launcher then sees a rank that died without MPI_Finalize and ends the job).
    std::this_thread::sleep_for(std::chrono::seconds(10));
  }
  std::_Exit(exit_code);
}

}  // namespace elm::dist
