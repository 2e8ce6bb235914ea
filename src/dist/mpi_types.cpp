#include "dist/mpi_types.h"

#include <limits>

#include "core/error.h"

namespace elm::dist {

MPI_Datatype mpi_datatype(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat32: return MPI_FLOAT;
    case torch::kFloat64: return MPI_DOUBLE;
    case torch::kInt64: return MPI_INT64_T;
    case torch::kInt32: return MPI_INT32_T;
    case torch::kInt16: return MPI_INT16_T;
    case torch::kInt8: return MPI_INT8_T;
    case torch::kUInt8:
    case torch::kBool: return MPI_UINT8_T;
    case torch::kBFloat16:
    case torch::kFloat16: return MPI_UINT16_T;
    default: fail("no MPI datatype for torch dtype ", c10::toString(dtype));
  }
}

torch::ScalarType reduction_dtype(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat32:
    case torch::kFloat64:
    case torch::kInt64:
    case torch::kInt32:
    case torch::kUInt8: return dtype;
    case torch::kBFloat16:
    case torch::kFloat16: return torch::kFloat32;
    default: fail("tensors of dtype ", c10::toString(dtype), " cannot be summed across ranks");
  }
}

int mpi_count(int64_t value, const char* op, const std::string& what) {
  ELM_CHECK(value >= 0, op, ": ", what, " = ", value, " is negative");
  ELM_CHECK(value <= std::numeric_limits<int>::max(), op, ": ", what, " = ", value,
            " exceeds the MPI count limit ", std::numeric_limits<int>::max(),
            " (MPI counts and displacements are int); split the data into smaller pieces");
  return static_cast<int>(value);
}

MpiCounts mpi_counts(const std::vector<int64_t>& counts, const char* op, const std::string& what) {
  MpiCounts out;
  out.counts.reserve(counts.size());
  out.displs.reserve(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    out.displs.push_back(mpi_count(out.total, op, str_cat("displacement of ", what, "[", i, "]")));
    out.counts.push_back(mpi_count(counts[i], op, str_cat(what, "[", i, "]")));
    out.total += counts[i];
  }
  return out;
}

}  // namespace elm::dist
