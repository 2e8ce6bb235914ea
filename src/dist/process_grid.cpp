#include "dist/process_grid.h"

#include "core/error.h"
#include "dist/communicator_factory.h"
#include "dist/mpi_communicator.h"
#include "dist/mpi_error.h"

namespace elm::dist {

namespace {
// MPI_Comm_split's result, freed at scope exit (the communicators keep duplicates).
class SplitComm {
 public:
  SplitComm(MPI_Comm comm, int color, int key, const char* what) {
    check_mpi(MPI_Comm_split(comm, color, key, &comm_), "MPI_Comm_split", what);
  }
  ~SplitComm() {
    if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  }
  SplitComm(const SplitComm&) = delete;
  SplitComm& operator=(const SplitComm&) = delete;
  MPI_Comm get() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};
}  // namespace

ProcessGrid::ProcessGrid(const ParallelOptions& options, MPI_Comm comm, const torch::Device& device) {
  rank_ = comm_rank(comm);
  comm_ = comm;
  layout_ = GridLayout::make(comm_size(comm), options.pp, options.dp);
  const Backend backend = resolve_backend(options.backend, device);

  world_ = make_communicator(backend, comm, device, options.communicator_options("world"));
  // Every rank calls both splits in the same order (they are collective over comm).
  {
    SplitComm split(comm, stage(), dp_rank(), "the DP group split");
    dp_ = make_communicator(backend, split.get(), device,
                            options.communicator_options(str_cat("dp group of stage ", stage())));
  }
  {
    // Activations travel over MPI whatever the backend (pipeline_channel.h: non-blocking sends).
    SplitComm split(comm, dp_rank(), stage(), "the pipeline group split");
    pipeline_ = std::make_unique<MpiCommunicator>(split.get(),
                                  options.communicator_options(str_cat("pipeline group of dp rank ", dp_rank())));
  }
}

ProcessGrid::~ProcessGrid() = default;

}  // namespace elm::dist
