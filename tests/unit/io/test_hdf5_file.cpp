// H5File: round trips of every dataset kind and attribute, row hyperslabs, and errors that name the
// file and the dataset.
#include <gtest/gtest.h>

#include <cstdlib>

#include "support/assertions.h"
#include "io/hdf5_file.h"
#include "io_test_util.h"

namespace elm::io {
namespace {

using test::error_of;
using test::TempDir;


TEST(Hdf5File, RoundTripsEveryDatasetKindAndAttribute) {
  TempDir dir;
  const std::string path = dir.file("a.h5");
  const std::vector<int32_t> ints = {1, -2, 3, 2147483647, -2147483647 - 1, 0};
  const std::vector<uint8_t> bytes = {0, 1, 255};
  const std::vector<uint8_t> flags = {1, 0, 7, 0};  // non-zero is TRUE
  const std::vector<std::string> texts = {"Paris", "", "naïve café ☕", "line\nbreak"};
  {
    H5File f = H5File::create(path);
    EXPECT_TRUE(f.writable());
    f.create_int32("tokens", {2, 3}, ints.data());
    f.create_uint8("bytes", {3}, bytes.data());
    f.create_bool("valid", {4}, flags.data());
    f.create_strings("text", texts);
    f.set_attribute("name", "bank");
    f.set_attribute("unicode", "Zürich ✓");
    f.set_attribute("big", int64_t{1} << 40);
    f.set_attribute("neg", int64_t{-5});
    f.set_attribute("name", "replaced");  // replacing an attribute is allowed
    f.set_attribute("note", "on a dataset", "/tokens");
    f.close();
    EXPECT_FALSE(f.is_open());
  }
  EXPECT_TRUE(is_hdf5_file(path));
  H5File f = H5File::open_read(path);
  EXPECT_FALSE(f.writable());
  auto info = f.dataset_info("tokens");
  EXPECT_EQ(info.kind, H5Kind::Int32);
  EXPECT_EQ(info.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(info.row_size(), 3);
  EXPECT_EQ(f.read_int32("tokens"), ints);
  EXPECT_EQ(f.dataset_info("bytes").kind, H5Kind::UInt8);
  EXPECT_EQ(f.read_uint8("bytes"), bytes);
  EXPECT_EQ(f.dataset_info("valid").kind, H5Kind::Bool);
  EXPECT_EQ(f.read_uint8("valid"), (std::vector<uint8_t>{1, 0, 1, 0}));
  EXPECT_EQ(f.dataset_info("/text").kind, H5Kind::String);
  EXPECT_EQ(f.read_strings("text"), texts);
  EXPECT_EQ(f.attribute_string("name"), "replaced");
  EXPECT_EQ(f.attribute_string("unicode"), "Zürich ✓");
  EXPECT_EQ(f.attribute_int("big"), int64_t{1} << 40);
  EXPECT_EQ(f.attribute_int("neg"), -5);
  EXPECT_EQ(f.attribute_string("note", "/tokens"), "on a dataset");
  EXPECT_TRUE(f.has_attribute("big"));
  EXPECT_FALSE(f.has_attribute("nope"));
  EXPECT_TRUE(f.has_dataset("text"));
  EXPECT_FALSE(f.has_dataset("nope"));
  auto names = f.attribute_names();
  EXPECT_EQ(names, (std::vector<std::string>{"big", "name", "neg", "unicode"}));
}

TEST(Hdf5File, RowHyperslabsReadAndWriteOnlyTheirRows) {
  TempDir dir;
  const std::string path = dir.file("rows.h5");
  std::vector<int32_t> grid(5 * 4);
  for (size_t i = 0; i < grid.size(); ++i) grid[i] = static_cast<int32_t>(i);
  {
    H5File f = H5File::create(path);
    f.create_int32("grid", {5, 4}, grid.data());
    f.create_bool("valid", {5}, std::vector<uint8_t>{1, 1, 1, 1, 1}.data());
    f.create_strings("text", {"a", "b", "c", "d", "e"});
  }
  {
    H5File f = H5File::open_write(path);
    const std::vector<int32_t> rows = {-1, -2, -3, -4, -5, -6, -7, -8};
    f.write_int32_rows("grid", 2, 2, rows.data());
    const uint8_t off = 0;
    f.write_uint8_rows("valid", 4, 1, &off);
    f.write_string_rows("text", 1, {"B, longer than before"});
    f.close();
  }
  H5File f = H5File::open_read(path);
  std::vector<int32_t> two(8);
  f.read_int32_rows("grid", 1, 2, two.data());
  EXPECT_EQ(two, (std::vector<int32_t>{4, 5, 6, 7, -1, -2, -3, -4}));
  auto all = f.read_int32("grid");
  EXPECT_EQ(all[8 + 0], -1);
  EXPECT_EQ(all[12 + 3], -8);
  EXPECT_EQ(all[16], 16);  // row 4 untouched
  EXPECT_EQ(f.read_uint8("valid"), (std::vector<uint8_t>{1, 1, 1, 1, 0}));
  EXPECT_EQ(f.read_string_rows("text", 0, 3), (std::vector<std::string>{"a", "B, longer than before", "c"}));
  EXPECT_TRUE(f.read_string_rows("text", 5, 0).empty());
}

TEST(Hdf5File, ErrorsNameTheFileAndTheDataset) {
  TempDir dir;
  const std::string path = dir.file("e.h5");
  {
    H5File f = H5File::create(path);
    f.create_int32("tokens", {2, 2}, std::vector<int32_t>{1, 2, 3, 4}.data());
    f.create_strings("text", {"x", "y"});
    // Creating a dataset twice is an HDF5-level failure: the message carries HDF5's reason.
    auto msg = error_of([&] { f.create_int32("tokens", {1, 1}, std::vector<int32_t>{0}.data()); });
    EXPECT_CONTAINS(msg, path);
    EXPECT_CONTAINS(msg, "'/tokens'");
    EXPECT_CONTAINS(msg, "create");
    EXPECT_CONTAINS(msg, "already exists");  // HDF5's innermost reason
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
  H5File f = H5File::open_read(path);
  std::vector<int32_t> buf(8);
  auto msg = error_of([&] { f.read_int32_rows("tokens", 1, 2, buf.data()); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'/tokens'");
  EXPECT_CONTAINS(msg, "rows [1, 3) are outside [0, 2)");

  msg = error_of([&] { f.read_int32("missing"); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'/missing': no such dataset");

  msg = error_of([&] { f.read_int32("text"); });
  EXPECT_CONTAINS(msg, "'/text' holds string, expected int32");

  msg = error_of([&] { f.attribute_int("nope"); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "attribute 'nope'");

  msg = error_of([&] { f.write_int32_rows("tokens", 0, 1, buf.data()); });
  EXPECT_CONTAINS(msg, "read-only");
  msg = error_of([&] { f.set_attribute("x", int64_t{1}); });
  EXPECT_CONTAINS(msg, "read-only");
}

TEST(Hdf5File, MissingAndNonHdf5FilesAreClearErrors) {
  TempDir dir;
  const std::string missing = dir.file("missing.h5");
  auto msg = error_of([&] { H5File::open_read(missing); });
  EXPECT_CONTAINS(msg, missing);
  EXPECT_CONTAINS(msg, "no such file");
  msg = error_of([&] { H5File::open_write(missing); });
  EXPECT_CONTAINS(msg, "no such file");

  const std::string text = dir.file("text.h5");
  test::write_text(text, "not hdf5 at all\n");
  EXPECT_FALSE(is_hdf5_file(text));
  msg = error_of([&] { H5File::open_read(text); });
  EXPECT_CONTAINS(msg, text);
  EXPECT_CONTAINS(msg, "not an HDF5 file");

  msg = error_of([&] { H5File::create(dir.file("no/such/dir/x.h5")); });
  EXPECT_CONTAINS(msg, "no/such/dir/x.h5");
  EXPECT_CONTAINS(msg, "cannot create");
}

TEST(Hdf5File, StringsWithNulAndUnsupportedRanksAreRejected) {
  TempDir dir;
  H5File f = H5File::create(dir.file("n.h5"));
  auto msg = error_of([&] { f.create_strings("s", {std::string("a\0b", 3)}); });
  EXPECT_CONTAINS(msg, "NUL");
  msg = error_of([&] { f.create_int32("cube", {1, 1, 1}, std::vector<int32_t>{0}.data()); });
  EXPECT_CONTAINS(msg, "rank 3");
  // Empty datasets are fine.
  f.create_int32("empty", {0, 4}, nullptr);
  EXPECT_EQ(f.dataset_info("empty").shape, (std::vector<int64_t>{0, 4}));
  EXPECT_TRUE(f.read_int32("empty").empty());
}

TEST(Hdf5File, MoveTransfersOwnership) {
  TempDir dir;
  H5File a = H5File::create(dir.file("m.h5"));
  H5File b = std::move(a);
  EXPECT_FALSE(a.is_open());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_TRUE(b.is_open());
  b.set_attribute("k", int64_t{3});
  b.close();
  EXPECT_EQ(H5File::open_read(dir.file("m.h5")).attribute_int("k"), 3);
}

}  // namespace
}  // namespace elm::io
