#pragma once
// MPI start-up and shutdown for a process, and the checks that belong to start-up.
//
//   int main(int argc, char** argv) {
//     elm::dist::MpiEnvironment mpi(&argc, &argv);   // MPI_Init_thread, log rank tag
//     elm::dist::check_slurm_world_size();           // stop early on srun without PMIx
//     ...
//   }                                                // MPI_Finalize (only if mpi initialised it)
//
// Thread level: MPI_THREAD_FUNNELED. Every MPI call of the program comes from the main thread;
// the only exception is the timeout watchdog (watchdog.h), which calls MPI_Abort from its own
// thread when the main thread is stuck inside MPI, as a last resort that ends the process.
#include <mpi.h>

#include <optional>
#include <string>

namespace elm::dist {

class MpiEnvironment {
 public:
  // Initialises MPI unless it already is (then this object only reads the world). argc/argv may
  // be null. Throws elm::Error when MPI was already finalised or provides less than
  // `required_thread_level`. Sets the logging rank (core/logging.h) to the world rank.
  explicit MpiEnvironment(int* argc = nullptr, char*** argv = nullptr,
                          int required_thread_level = MPI_THREAD_FUNNELED);
  // Calls MPI_Finalize when this object called MPI_Init_thread and MPI is not finalised yet.
  ~MpiEnvironment();
  MpiEnvironment(const MpiEnvironment&) = delete;
  MpiEnvironment& operator=(const MpiEnvironment&) = delete;

  int world_rank() const { return rank_; }
  int world_size() const { return size_; }
  int thread_level() const { return thread_level_; }
  // Whether this object initialised MPI (and will finalise it).
  bool owns_mpi() const { return owns_; }

 private:
  bool owns_ = false;
  int rank_ = 0;
  int size_ = 1;
  int thread_level_ = MPI_THREAD_SINGLE;
};

// Rank and size in MPI_COMM_WORLD; MPI must be initialised (elm::Error otherwise).
int world_rank();
int world_size();

// The start-up check behind check_slurm_world_size(), without reading the environment: empty
// when fine, else the message. `slurm_ntasks` is the task count of the Slurm step (nullopt when
// not under Slurm); `launched_by_mpirun` skips the check (mpirun inside an allocation may start
// fewer ranks than the allocation has tasks on purpose).
std::string slurm_world_size_problem(const std::optional<std::string>& slurm_ntasks, int world_size,
                                     bool launched_by_mpirun);

// Under srun (SLURM_STEP_NUM_TASKS, else SLURM_NTASKS, is set) the MPI world must have that many
// ranks: Open MPI started by srun without PMIx support starts every task as a singleton of world
// size 1, which would silently train N independent copies. Throws elm::Error naming both numbers
// and the fix. Not checked under mpirun (whose children find OMPI_COMM_WORLD_SIZE in their
// environment from the start; it is read before main, before MPI_Init could set anything).
void check_slurm_world_size();

}  // namespace elm::dist
