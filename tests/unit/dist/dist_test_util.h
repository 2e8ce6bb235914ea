#pragma once
// Shared by the single-process dist tests: MPI initialised once per test process (a world of one
// rank, no launcher needed), finalised at exit.
#include "dist/mpi_env.h"

namespace elm::dist::testing {

inline void ensure_mpi() {
  static MpiEnvironment mpi;  // destroyed at exit: MPI_Finalize
  (void)mpi;
}

}  // namespace elm::dist::testing
