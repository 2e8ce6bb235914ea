#pragma once
// Activations forward and activation gradients backward between neighbouring pipeline stages
// (ARCHITECTURE 4), over the pipeline group of one dp rank (rank = stage).
//
//   PipelineChannel ch(grid.pipeline());
//   auto x = ch.receive_activation({B, T, H}, torch::kFloat32, mb);   // from stage - 1
//   ch.send_activation(y, mb);                                       // to stage + 1, returns at once
//   ...
//   ch.finish();                                                     // all sends delivered
//
// Sends never block: they are posted (MPI_Isend on a private copy) and completed in finish().
// A stage therefore only ever waits in a receive, whose matching send its neighbour posts as soon
// as that pass is done; with any schedule whose passes respect the data dependencies (GPipe,
// 1F1B: pipeline_schedule.h) that cannot deadlock. Tags carry the micro-batch and the direction,
// so a message cannot be taken for another. CUDA tensors are staged through the host (the
// pipeline group is an MPI communicator) and received tensors come back on `device`.
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "dist/mpi_communicator.h"

namespace elm::dist {

class PipelineChannel {
 public:
  explicit PipelineChannel(MpiCommunicator& pipeline, torch::Device device = torch::kCPU);
  ~PipelineChannel();  // never blocks (call finish() to wait for the sends)

  int stage() const { return pipeline_.rank(); }
  int stages() const { return pipeline_.size(); }
  bool first() const { return stage() == 0; }
  bool last() const { return stage() == stages() - 1; }

  void send_activation(const torch::Tensor& hidden, int microbatch);  // to stage + 1
  torch::Tensor receive_activation(at::IntArrayRef shape, torch::ScalarType dtype, int microbatch);  // from stage - 1
  void send_gradient(const torch::Tensor& grad, int microbatch);  // to stage - 1
  torch::Tensor receive_gradient(at::IntArrayRef shape, torch::ScalarType dtype, int microbatch);  // from stage + 1

  // Waits until every send posted so far has left this rank.
  void finish();

 private:
  torch::Tensor receive(at::IntArrayRef shape, torch::ScalarType dtype, int src, int tag);
  void send(const torch::Tensor& t, int dst, int tag);

  MpiCommunicator& pipeline_;
  torch::Device device_;
  std::vector<std::unique_ptr<PendingSend>> in_flight_;
};

}  // namespace elm::dist
