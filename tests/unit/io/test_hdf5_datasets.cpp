// H5File additions for checkpoints: numeric datasets of any rank (0 included) and kind, scalar
// string datasets, float attributes, groups that list their members in creation order, and errors
// that name the dataset or group.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>

#include "io/hdf5_file.h"
#include "io_test_util.h"
#include "support/assertions.h"

namespace elm::io {
namespace {

using test::error_of;
using test::TempDir;

TEST(Hdf5Datasets, RoundTripEveryNumericKindAndRank) {
  TempDir dir;
  const std::string path = dir.file("d.h5");
  const std::vector<int64_t> i64 = {std::numeric_limits<int64_t>::min(), -1, 0, std::numeric_limits<int64_t>::max()};
  const std::vector<float> f32 = {1.5f, -0.0f, std::numeric_limits<float>::infinity(), 3e-41f, 2.f, 7.f};
  const double f64_scalar = -2.25e300;
  const std::vector<uint16_t> u16 = {0, 1, 65535};
  const std::vector<int8_t> i8 = {-128, 5, 127};
  const std::vector<uint8_t> flags = {3, 0, 1};
  const std::vector<int32_t> cube = {1, 2, 3, 4, 5, 6, 7, 8};
  {
    H5File f = H5File::create(path);
    f.create_group("g");
    f.create_dataset("g/zeta.x", H5Kind::Int64, {4}, i64.data());  // dots are fine in names
    f.create_dataset("g/alpha", H5Kind::Float32, {2, 3}, f32.data());
    f.create_dataset("g/mid", H5Kind::Float64, {}, &f64_scalar);
    f.create_dataset("u16", H5Kind::UInt16, {3}, u16.data());
    f.create_dataset("i8", H5Kind::Int8, {3}, i8.data());
    f.create_dataset("flags", H5Kind::Bool, {3}, flags.data());
    f.create_dataset("cube", H5Kind::Int32, {2, 2, 2}, cube.data());
    f.create_dataset("empty", H5Kind::Float32, {0, 4}, nullptr);
    f.create_string("note", "naïve ✓\nline two");
    f.set_attribute_double("lr", 3e-4);
    f.set_attribute_double("lr", 1e-3, "/g");  // on a group
  }
  H5File f = H5File::open_read(path);
  // Creation order, not name order.
  EXPECT_EQ(f.list_group("g"), (std::vector<std::string>{"zeta.x", "alpha", "mid"}));
  EXPECT_TRUE(f.has_group("g"));
  EXPECT_TRUE(f.has_group("/"));
  EXPECT_FALSE(f.has_group("u16"));
  EXPECT_FALSE(f.has_group("nope/deeper"));
  EXPECT_FALSE(f.has_dataset("nope/deeper"));

  auto info = f.dataset_info("g/zeta.x");
  EXPECT_EQ(info.kind, H5Kind::Int64);
  std::vector<int64_t> i64_back(4);
  f.read_dataset("g/zeta.x", H5Kind::Int64, i64_back.data());
  EXPECT_EQ(i64_back, i64);

  EXPECT_EQ(f.dataset_info("g/alpha").kind, H5Kind::Float32);
  std::vector<float> f32_back(6);
  f.read_dataset("g/alpha", H5Kind::Float32, f32_back.data());
  EXPECT_EQ(std::memcmp(f32_back.data(), f32.data(), sizeof(float) * 6), 0);  // bit-exact, -0.0 included

  info = f.dataset_info("g/mid");
  EXPECT_EQ(info.kind, H5Kind::Float64);
  EXPECT_TRUE(info.shape.empty());  // a scalar dataspace, not [1]
  double d = 0;
  f.read_dataset("g/mid", H5Kind::Float64, &d);
  EXPECT_EQ(d, f64_scalar);

  std::vector<uint16_t> u16_back(3);
  f.read_dataset("u16", H5Kind::UInt16, u16_back.data());
  EXPECT_EQ(u16_back, u16);
  std::vector<int8_t> i8_back(3);
  f.read_dataset("i8", H5Kind::Int8, i8_back.data());
  EXPECT_EQ(i8_back, i8);
  std::vector<uint8_t> flags_back(3);
  EXPECT_EQ(f.dataset_info("flags").kind, H5Kind::Bool);
  f.read_dataset("flags", H5Kind::Bool, flags_back.data());
  EXPECT_EQ(flags_back, (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_EQ(f.dataset_info("cube").shape, (std::vector<int64_t>{2, 2, 2}));
  std::vector<int32_t> cube_back(8);
  f.read_dataset("cube", H5Kind::Int32, cube_back.data());
  EXPECT_EQ(cube_back, cube);
  EXPECT_EQ(f.dataset_info("empty").shape, (std::vector<int64_t>{0, 4}));
  f.read_dataset("empty", H5Kind::Float32, nullptr);  // nothing to read, no error

  EXPECT_EQ(f.read_string("note"), "naïve ✓\nline two");
  EXPECT_DOUBLE_EQ(f.attribute_double("lr"), 3e-4);
  EXPECT_DOUBLE_EQ(f.attribute_double("lr", "/g"), 1e-3);
  EXPECT_EQ(element_size(H5Kind::Int64), 8u);
  EXPECT_EQ(element_size(H5Kind::String), 0u);
}

TEST(Hdf5Datasets, ListsGroupsWithoutCreationOrderByName) {
  TempDir dir;
  const std::string path = dir.file("d.h5");
  const int32_t v = 1;
  {
    H5File f = H5File::create(path);
    f.create_dataset("b", H5Kind::Int32, {}, &v);  // the root group does not track creation order
    f.create_dataset("a", H5Kind::Int32, {}, &v);
    f.create_group("c");
  }
  H5File f = H5File::open_read(path);
  EXPECT_EQ(f.list_group("/"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(f.list_group("c").empty());
}

TEST(Hdf5Datasets, ErrorsNameTheDatasetOrGroup) {
  TempDir dir;
  const std::string path = dir.file("d.h5");
  const float x = 1.f;
  {
    H5File f = H5File::create(path);
    f.create_dataset("x", H5Kind::Float32, {}, &x);
    EXPECT_CONTAINS(error_of([&] { f.create_dataset("x", H5Kind::Float32, {}, &x); }), "dataset '/x': create");
    EXPECT_CONTAINS(error_of([&] { f.create_dataset("s", H5Kind::String, {1}, &x); }), "string is not a numeric kind");
    EXPECT_CONTAINS(error_of([&] { f.create_dataset("n", H5Kind::Float32, {-1}, &x); }), "negative dimension");
    EXPECT_CONTAINS(error_of([&] { f.create_dataset("no/parent", H5Kind::Float32, {}, &x); }), "'/no/parent'");
  }
  H5File f = H5File::open_read(path);
  double d = 0;
  EXPECT_CONTAINS(error_of([&] { f.read_dataset("x", H5Kind::Float64, &d); }),
                  "dataset '/x' holds float32, expected float64");
  EXPECT_CONTAINS(error_of([&] { f.read_dataset("y", H5Kind::Float32, &d); }), "dataset '/y': no such dataset");
  EXPECT_CONTAINS(error_of([&] { f.list_group("g"); }), "group '/g': no such group");
  EXPECT_CONTAINS(error_of([&] { f.read_string("x"); }), "holds float32, expected string");
  EXPECT_CONTAINS(error_of([&] { f.create_group("h"); }), "read-only");
}

}  // namespace
}  // namespace elm::io
