#pragma once
// Torch dtypes as MPI datatypes, and element counts as the int MPI wants.
//
// MPI counts and displacements are int: a count above INT_MAX is an elm::Error naming the
// operation and the value, never a silent wrap-around.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace elm::dist {

// The MPI datatype that moves one element of `dtype` unchanged: float -> MPI_FLOAT,
// double -> MPI_DOUBLE, int64 -> MPI_INT64_T, int32 -> MPI_INT32_T, int16 -> MPI_INT16_T,
// uint8/bool -> MPI_UINT8_T, int8 -> MPI_INT8_T; bfloat16 and float16 travel as 2-byte raw
// (MPI_UINT16_T): fine for copies, never for arithmetic. Throws elm::Error for other dtypes
// (complex, quantized).
MPI_Datatype mpi_datatype(torch::ScalarType dtype);

// The dtype a sum over ranks is computed in: bfloat16 and float16 in float32 (MPI has no 2-byte
// float reduction, and summing in f32 loses less), float32/float64/int32/int64/uint8 as they are.
// Throws elm::Error for bool and other dtypes without a meaningful sum.
torch::ScalarType reduction_dtype(torch::ScalarType dtype);

// `value` as an MPI int count; throws elm::Error "<op>: <what> = VALUE exceeds the MPI count limit
// 2147483647 ..." when it does not fit, or when it is negative.
int mpi_count(int64_t value, const char* op, const std::string& what);

// Counts and their exclusive prefix sums (displacements), both as int, checked like mpi_count.
struct MpiCounts {
  std::vector<int> counts;
  std::vector<int> displs;
  int64_t total = 0;
};
MpiCounts mpi_counts(const std::vector<int64_t>& counts, const char* op, const std::string& what);

}  // namespace elm::dist
