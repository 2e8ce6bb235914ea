#pragma once
// Point-to-point transfer of a list of named tensors whose names, shapes and dtypes the receiver
// does not know in advance (a pipeline stage's parameters and optimizer state going to the rank
// that writes the checkpoint). Not collective: one sender, one receiver.
//
//   if (rank == src) send_named(comm, tensors, /*dst=*/0, /*tag=*/7);
//   if (rank == 0)   auto got = receive_named(comm, src, 7);
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "dist/communicator.h"

namespace elm::dist {

using NamedTensorList = std::vector<std::pair<std::string, torch::Tensor>>;

// A header (names, dtypes, shapes) then each tensor, all with `tag`. CPU tensors (MPI).
void send_named(Communicator& comm, const NamedTensorList& tensors, int dst, int tag);
NamedTensorList receive_named(Communicator& comm, int src, int tag);

}  // namespace elm::dist
