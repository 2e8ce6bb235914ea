#include "dist/mpi_env.h"

#include <cstdint>
#include <cstdlib>

#include "core/error.h"
#include "core/logging.h"
#include "core/parse.h"

namespace elm::dist {

MpiEnvironment::MpiEnvironment(int* argc, char*** argv, int required_thread_level) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  ELM_CHECK(!finalized, "MPI was already finalised; it cannot be initialised again in this process");
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) {
    MPI_Query_thread(&thread_level_);
  } else {
    // Open MPI's MPI-IO: ROMIO rather than the default OMPIO, unless the user chose (OMPI_MCA_io).
    // Parallel HDF5 checkpoint writes ran up to 1.9x faster through ROMIO here (docs/checkpoints.md,
    // bench_checkpoint), and ROMIO is what HDF5's parallel tests run against. Other MPIs ignore it.
    ::setenv("OMPI_MCA_io", "romio321", /*overwrite=*/0);
    const int rc = MPI_Init_thread(argc, argv, required_thread_level, &thread_level_);
    ELM_CHECK(rc == MPI_SUCCESS, "MPI_Init_thread failed (error code ", rc, ")");
    owns_ = true;
  }
  // The provided level is known only after init; when it is too low, finalise again so that the
  // error leaves no half-initialised MPI behind (the destructor does not run for a throwing ctor).
  if (thread_level_ < required_thread_level) {
    if (owns_) MPI_Finalize();
    owns_ = false;
    fail("MPI provides thread level ", thread_level_, " but ", required_thread_level,
         " is required (MPI_THREAD_FUNNELED = ", MPI_THREAD_FUNNELED, ")");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  log::set_rank(rank_);
}

MpiEnvironment::~MpiEnvironment() {
  if (!owns_) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

namespace {
void require_initialized(const char* what) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  ELM_CHECK(initialized && !finalized, what, " needs MPI to be initialised (create an elm::dist::MpiEnvironment first)");
}

// Read before main (static initialisation), so before MPI_Init_thread: MPI may set OMPI_* variables
// in its own environment during init (a singleton does), but only mpirun's children have them
// from the start.
const bool g_launched_by_mpirun = std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr;

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}
}  // namespace

int world_rank() {
  require_initialized("world_rank()");
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int world_size() {
  require_initialized("world_size()");
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

std::string slurm_world_size_problem(const std::optional<std::string>& slurm_ntasks, int world_size,
                                     bool launched_by_mpirun) {
  if (!slurm_ntasks || launched_by_mpirun) return "";
  int64_t ntasks = 0;
  try {
    ntasks = parse_int(*slurm_ntasks, "SLURM_NTASKS");
  } catch (const Error& e) {
    return e.what();
  }
  if (ntasks == world_size) return "";
  return str_cat("SLURM_NTASKS=", ntasks, " but the MPI world has ", world_size, " rank", world_size == 1 ? "" : "s",
                 ": srun started the tasks without a working MPI launch protocol (Open MPI under srun without "
                 "PMIx starts every task as a singleton). Use `srun --mpi=pmix ...` (see `srun --mpi=list`), or "
                 "launch with mpirun inside the allocation");
}

void check_slurm_world_size() {
  std::optional<std::string> ntasks = env("SLURM_STEP_NUM_TASKS");
  if (!ntasks) ntasks = env("SLURM_NTASKS");
  const std::string problem = slurm_world_size_problem(ntasks, world_size(), g_launched_by_mpirun);
  ELM_CHECK(problem.empty(), problem);
}

}  // namespace elm::dist
