#pragma once
// Internals of the checkpoint file format shared by its writer (checkpoint_write.cpp) and reader
// (checkpoint.cpp): how torch dtypes are stored, the names of root attributes. Layout:
// docs/checkpoints.md.
#include <string>

#include <torch/torch.h>

#include "io/hdf5_file.h"
#include "train/optimizer.h"

namespace elm::train::format {

inline constexpr const char* kComplete = "complete";
inline constexpr const char* kDtypeAttr = "dtype";
inline constexpr const char* kChecksumAttr = "checksum";

// How a torch dtype is stored: the HDF5 element kind and, for 16-bit floats (which HDF5 has no
// portable type for), the dtype attribute that restores them from their uint16 bits ("" if none).
struct Stored {
  io::H5Kind kind;
  const char* dtype_attr;  // nullptr: the kind says it all
};
// Error naming `what` for a dtype checkpoints do not store.
Stored stored_as(torch::ScalarType t, const std::string& what);
// The inverse; `where` names the dataset in errors.
torch::ScalarType torch_type_of(io::H5Kind kind, const std::string& dtype_attr, const std::string& where);

// Tensor names become HDF5 link names inside `group`: refuses empty, '/'-containing, "."/".." and
// duplicate names, naming the tensor.
void check_names(const NamedTensors& tensors, const std::string& group);

}  // namespace elm::train::format
