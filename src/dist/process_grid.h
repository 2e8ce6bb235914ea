#pragma once
// The pp x dp process grid over MPI_COMM_WORLD (or any communicator): this rank's place in it and
// one communicator per group it belongs to. Layout in grid_layout.h.
//
//   ProcessGrid grid(ParallelOptions::from_config(config), MPI_COMM_WORLD, torch::kCPU);
//   grid.dp().all_reduce_mean(grads);   // within this stage's DP group
//
// Creation is collective over `comm` (MPI_Comm_split, communicator set-up).
#include <mpi.h>

#include <memory>

#include "dist/communicator.h"
#include "dist/grid_layout.h"
#include "dist/mpi_communicator.h"
#include "dist/parallel_options.h"

namespace elm::dist {

class ProcessGrid {
 public:
  // Throws elm::Error (the same on every rank, before any communication) for a pp/dp that does
  // not fit the world (grid_layout.h).
  ProcessGrid(const ParallelOptions& options, MPI_Comm comm, const torch::Device& device);
  ~ProcessGrid();

  const GridLayout& layout() const { return layout_; }
  int rank() const { return rank_; }  // in `comm`
  int stage() const { return layout_.stage_of(rank_); }
  int dp_rank() const { return layout_.dp_rank_of(rank_); }

  // All ranks of `comm`.
  Communicator& world() { return *world_; }
  // `comm` itself, for MPI-IO (parallel HDF5 writes over all ranks, whatever world()'s backend).
  MPI_Comm world_comm() const { return comm_; }
  // This stage's DP group: dp ranks, ordered by dp_rank (gradient all-reduce, sharded bank).
  Communicator& dp() { return *dp_; }
  // This dp_rank's pipeline group: pp ranks, ordered by stage (activations and their gradients).
  // Always an MPI communicator on the host: pipeline sends must not block (pipeline_channel.h).
  MpiCommunicator& pipeline() { return *pipeline_; }

 private:
  GridLayout layout_;
  int rank_ = 0;
  MPI_Comm comm_ = MPI_COMM_NULL;
  std::unique_ptr<Communicator> world_;
  std::unique_ptr<Communicator> dp_;
  std::unique_ptr<MpiCommunicator> pipeline_;
};

}  // namespace elm::dist
