// Torch dtypes as MPI datatypes, the dtypes sums run in, and int count / displacement overflow.
#include <gtest/gtest.h>

#include <limits>

#include "support/assertions.h"
#include "dist/mpi_types.h"
#include "unit/dist/dist_test_util.h"

namespace elm::dist {
namespace {

using elm::testing::error_of;

TEST(MpiTypes, MapsEveryTransportableDtype) {
  EXPECT_EQ(mpi_datatype(torch::kFloat32), MPI_FLOAT);
  EXPECT_EQ(mpi_datatype(torch::kFloat64), MPI_DOUBLE);
  EXPECT_EQ(mpi_datatype(torch::kInt64), MPI_INT64_T);
  EXPECT_EQ(mpi_datatype(torch::kInt32), MPI_INT32_T);
  EXPECT_EQ(mpi_datatype(torch::kUInt8), MPI_UINT8_T);
  EXPECT_EQ(mpi_datatype(torch::kBool), MPI_UINT8_T);
  // 2-byte floats travel as raw 16-bit words (copies only).
  EXPECT_EQ(mpi_datatype(torch::kBFloat16), MPI_UINT16_T);
  EXPECT_EQ(mpi_datatype(torch::kFloat16), MPI_UINT16_T);
  EXPECT_CONTAINS(error_of([] { mpi_datatype(torch::kComplexFloat); }), "no MPI datatype for torch dtype ComplexFloat");
}

TEST(MpiTypes, DatatypeSizeEqualsElementSize) {
  testing::ensure_mpi();  // MPI_Type_size needs an initialised MPI
  for (auto dtype : {torch::kFloat32, torch::kFloat64, torch::kInt64, torch::kInt32, torch::kInt16, torch::kInt8,
                     torch::kUInt8, torch::kBool, torch::kBFloat16, torch::kFloat16}) {
    int size = 0;
    MPI_Type_size(mpi_datatype(dtype), &size);
    EXPECT_EQ(size, static_cast<int>(c10::elementSize(dtype))) << c10::toString(dtype);
  }
}

TEST(MpiTypes, TwoByteFloatsAreSummedInFloat32) {
  EXPECT_EQ(reduction_dtype(torch::kBFloat16), torch::kFloat32);
  EXPECT_EQ(reduction_dtype(torch::kFloat16), torch::kFloat32);
  EXPECT_EQ(reduction_dtype(torch::kFloat32), torch::kFloat32);
  EXPECT_EQ(reduction_dtype(torch::kFloat64), torch::kFloat64);
  EXPECT_EQ(reduction_dtype(torch::kInt64), torch::kInt64);
  EXPECT_EQ(reduction_dtype(torch::kInt32), torch::kInt32);
  EXPECT_EQ(reduction_dtype(torch::kUInt8), torch::kUInt8);
  EXPECT_CONTAINS(error_of([] { reduction_dtype(torch::kBool); }), "dtype Bool cannot be summed across ranks");
}

TEST(MpiTypes, CountsAboveIntMaxAreErrors) {
  const int64_t max = std::numeric_limits<int>::max();
  EXPECT_EQ(mpi_count(max, "MPI_Bcast", "element count"), std::numeric_limits<int>::max());
  EXPECT_EQ(mpi_count(0, "MPI_Bcast", "element count"), 0);
  EXPECT_CONTAINS(error_of([&] { mpi_count(max + 1, "MPI_Bcast", "element count"); }),
                  "MPI_Bcast: element count = 2147483648 exceeds the MPI count limit 2147483647");
  EXPECT_CONTAINS(error_of([] { mpi_count(-1, "MPI_Send", "element count"); }), "MPI_Send: element count = -1 is negative");
}

TEST(MpiTypes, DisplacementsArePrefixSums) {
  MpiCounts c = mpi_counts({3, 0, 5, 1}, "MPI_Alltoallv", "send_counts");
  EXPECT_EQ(c.counts, (std::vector<int>{3, 0, 5, 1}));
  EXPECT_EQ(c.displs, (std::vector<int>{0, 3, 3, 8}));
  EXPECT_EQ(c.total, 9);
}

TEST(MpiTypes, DisplacementOverflowNamesTheEntry) {
  // Each count fits, but the third displacement (2 * 1.5e9) does not.
  const int64_t big = 1500000000;
  EXPECT_CONTAINS(error_of([&] { mpi_counts({big, big, 1}, "MPI_Alltoallv", "recv_counts"); }),
                  "MPI_Alltoallv: displacement of recv_counts[2] = 3000000000 exceeds the MPI count limit");
  EXPECT_CONTAINS(error_of([&] { mpi_counts({1, int64_t{1} << 33}, "MPI_Alltoallv", "send_counts"); }),
                  "send_counts[1] = 8589934592 exceeds");
}

}  // namespace
}  // namespace elm::dist
