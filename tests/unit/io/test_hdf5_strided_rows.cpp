// Strided row reads (a cyclic bank shard): rows first, first + stride, ... land densely, a
// selection past the end is an error naming the dataset, and stride 1 is the plain slab.
#include <gtest/gtest.h>

#include <numeric>

#include "core/error.h"
#include "io/hdf5_file.h"
#include "support/scratch_dir.h"

namespace elm::io {
namespace {

TEST(Hdf5StridedRows, ReadEveryGthRowDensely) {
  const auto path = (testing::scratch_dir("io", "strided") / "t.h5").string();
  std::vector<int32_t> table(10 * 3);
  std::iota(table.begin(), table.end(), 0);
  std::vector<uint8_t> flags = {1, 0, 1, 1, 0, 0, 1, 0, 1, 1};
  {
    H5File f = H5File::create(path);
    f.create_int32("tokens", {10, 3}, table.data());
    f.create_bool("valid", {10}, flags.data());
    f.close();
  }
  H5File f = H5File::open_read(path);
  for (int64_t first : {0, 1, 3}) {
    for (int64_t stride : {1, 3, 4}) {
      const int64_t count = (10 - first + stride - 1) / stride;
      std::vector<int32_t> rows(static_cast<size_t>(count * 3));
      std::vector<uint8_t> valid(static_cast<size_t>(count));
      f.read_int32_rows("tokens", first, count, rows.data(), stride);
      f.read_uint8_rows("valid", first, count, valid.data(), stride);
      for (int64_t k = 0; k < count; ++k) {
        const int64_t row = first + k * stride;
        for (int64_t c = 0; c < 3; ++c) ASSERT_EQ(rows[k * 3 + c], table[row * 3 + c]) << first << "/" << stride;
        ASSERT_EQ(valid[k], flags[row]) << first << "/" << stride;
      }
      // One more row would pass the end.
      std::vector<int32_t> too_many(static_cast<size_t>((count + 1) * 3));
      try {
        f.read_int32_rows("tokens", first, count + 1, too_many.data(), stride);
        FAIL() << "no error";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("tokens"), std::string::npos) << e.what();
      }
    }
  }
  std::vector<int32_t> none;
  EXPECT_THROW(f.read_int32_rows("tokens", 0, 1, none.data(), 0), Error);
}

}  // namespace
}  // namespace elm::io
