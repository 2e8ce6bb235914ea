// A program that must not finish: run by tests/mpi/expect_abort.sh under mpiexec, which checks
// that the job ends non-zero, quickly, with the expected message.
//
//   abort_probe error     rank 1 fails and calls abort_all; the others wait in a barrier
//                         (600 s deadline): the abort must end them.
//   abort_probe timeout   rank 1 never reaches the barrier (it sleeps); the others' 2 s deadline
//                         must abort the job with the operation's name.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "core/error.h"
#include "dist/abort.h"
#include "dist/mpi_communicator.h"
#include "dist/mpi_env.h"

int main(int argc, char** argv) {
  using namespace elm::dist;
  MpiEnvironment mpi(&argc, &argv);
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "error" && mode != "timeout") {
    std::fprintf(stderr, "usage: abort_probe error|timeout\n");
    return 2;
  }
  CommunicatorOptions options;
  options.timeout_seconds = mode == "timeout" ? 2.0 : 600.0;
  MpiCommunicator comm(MPI_COMM_WORLD, options);
  if (comm.rank() == 1) {
    if (mode == "error") {
      try {
        elm::fail("injected failure on purpose");
      } catch (const std::exception& e) {
        abort_all(e.what());
      }
    }
    std::this_thread::sleep_for(std::chrono::seconds(120));
  }
  comm.barrier();
  std::fprintf(stderr, "rank %d: the barrier returned, but the job should have been aborted\n", comm.rank());
  return 0;
}
