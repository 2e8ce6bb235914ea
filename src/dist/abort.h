#pragma once
// Ending the whole job from one rank: "an error on one rank stops all ranks".
//
// A rank that cannot continue (an exception, a collective that timed out) must not just exit or
// keep waiting: the other ranks would block forever in their next collective. abort_all prints
// the reason with the rank and calls MPI_Abort(MPI_COMM_WORLD), which makes the launcher
// (mpirun, srun) kill every rank. The main path catches exceptions on each rank and calls it:
//
//   try { run(); } catch (const std::exception& e) { elm::dist::abort_all(e.what()); }
#include <string>

namespace elm::dist {

// Writes "rank R: <message>; aborting the job" to stderr (rank 0: through its console log) and
// the log file, then MPI_Abort(MPI_COMM_WORLD, exit_code). Without an initialised MPI it exits the process with
// exit_code. Never returns. Safe to call from any thread.
[[noreturn]] void abort_all(const std::string& message, int exit_code = 1);

}  // namespace elm::dist
