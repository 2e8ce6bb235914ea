// Writer -> reader round trips, dtype table, writer behaviour.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "io/half.h"
#include "io/safetensors.h"
#include "unit/io/io_test_util.h"

namespace elm::io {
namespace {
using test::error_of;
using test::TempDir;

const std::vector<DType> kAll = {DType::BOOL, DType::U8,   DType::I8,  DType::I16, DType::U16,
                                 DType::F16,  DType::BF16, DType::I32, DType::U32, DType::F32,
                                 DType::I64,  DType::U64,  DType::F64, DType::F8_E4M3, DType::F8_E5M2};

TEST(DTypeTable, NamesBitsAndParse) {
  EXPECT_EQ(kAll.size(), 15u);
  for (DType t : kAll) {
    auto back = parse_dtype(dtype_name(t));
    ASSERT_TRUE(back.has_value()) << dtype_name(t);
    EXPECT_EQ(*back, t);
    EXPECT_EQ(dtype_bits(t) % 8, 0u);
  }
  EXPECT_STREQ(dtype_name(DType::BF16), "BF16");
  EXPECT_STREQ(dtype_name(DType::F8_E4M3), "F8_E4M3");
  EXPECT_EQ(dtype_bits(DType::BOOL), 8u);
  EXPECT_EQ(dtype_bits(DType::F8_E5M2), 8u);
  EXPECT_EQ(dtype_bits(DType::BF16), 16u);
  EXPECT_EQ(dtype_bits(DType::U32), 32u);
  EXPECT_EQ(dtype_bits(DType::F64), 64u);
  EXPECT_FALSE(parse_dtype("bf16").has_value());
  EXPECT_FALSE(parse_dtype("F128").has_value());
  EXPECT_FALSE(parse_dtype("").has_value());
}

TEST(TensorInfo, NumelAndBytes) {
  TensorInfo t;
  EXPECT_EQ(t.numel(), 1);  // scalar
  t.shape = {3, 0, 5};
  EXPECT_EQ(t.numel(), 0);
  t.shape = {2, 3};
  t.begin = 10;
  t.end = 34;
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.nbytes(), 24u);
}

TEST(SafetensorsRoundTrip, EveryDtypeScalarZeroSizeAndMetadata) {
  TempDir tmp;
  const std::string path = tmp.file("all.safetensors");
  // One tensor per dtype with shape [2, 3] and distinct byte content; plus a scalar and a zero-size one.
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<TensorToWrite> tensors;
  uint8_t seed = 1;
  for (DType t : kAll) {
    std::vector<uint8_t> b(6 * dtype_bytes(t));
    for (auto& x : b) x = seed++;
    buffers.push_back(std::move(b));
  }
  for (size_t i = 0; i < kAll.size(); ++i)
    tensors.push_back({std::string("t.") + dtype_name(kAll[i]), kAll[i], {2, 3}, buffers[i].data()});
  const float scalar = 3.25f;
  tensors.push_back({"scalar", DType::F32, {}, &scalar});
  tensors.push_back({"empty", DType::BF16, {4, 0, 7}, nullptr});
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "héllo \"quoted\""}};
  write_safetensors(path, tensors, meta);

  auto f = SafetensorsFile::open(path);
  EXPECT_EQ(f->path(), path);
  EXPECT_EQ(f->metadata(), meta);
  ASSERT_EQ(f->tensors().size(), tensors.size());
  // File order == given order (the writer lays tensors out contiguously in that order), except that the
  // zero-size tensor sits at the end offset with no bytes.
  for (size_t i = 0; i < kAll.size(); ++i) {
    const TensorInfo* t = f->find(tensors[i].name);
    ASSERT_NE(t, nullptr) << tensors[i].name;
    EXPECT_EQ(t->name, tensors[i].name);
    EXPECT_EQ(t->dtype, kAll[i]);
    EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(t->numel(), 6);
    EXPECT_EQ(t->nbytes(), buffers[i].size());
    EXPECT_EQ(std::memcmp(f->data(*t), buffers[i].data(), buffers[i].size()), 0) << t->name;
  }
  const TensorInfo* s = f->find("scalar");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->shape.empty());
  EXPECT_EQ(s->numel(), 1);
  EXPECT_EQ(s->nbytes(), 4u);
  float back = 0;
  std::memcpy(&back, f->data(*s), 4);
  EXPECT_EQ(back, 3.25f);
  const TensorInfo* e = f->find("empty");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->shape, (std::vector<int64_t>{4, 0, 7}));
  EXPECT_EQ(e->numel(), 0);
  EXPECT_EQ(e->nbytes(), 0u);
  EXPECT_EQ(f->find("missing"), nullptr);

  // tensors() is sorted by offset and contiguous.
  uint64_t pos = 0;
  for (const auto& t : f->tensors()) {
    EXPECT_EQ(t.begin, pos) << t.name;
    pos = t.end;
  }
  EXPECT_EQ(8 + f->header_size() + pos, f->file_size());
  EXPECT_EQ(f->header_size() % 8, 0u);
}

TEST(SafetensorsRoundTrip, EmptyFileWithNoTensors) {
  TempDir tmp;
  const std::string path = tmp.file("none.safetensors");
  write_safetensors(path, {});
  auto f = SafetensorsFile::open(path);
  EXPECT_TRUE(f->tensors().empty());
  EXPECT_TRUE(f->metadata().empty());
  EXPECT_EQ(f->file_size(), 8 + f->header_size());
}

TEST(SafetensorsWriter, LayoutHeaderPaddingAndNoTmpLeft) {
  TempDir tmp;
  const std::string path = tmp.file("w.safetensors");
  const std::vector<uint16_t> a = {1, 2, 3};
  const std::vector<float> b = {1.5f};
  write_safetensors(path, {{"zz_first", DType::U16, {3}, a.data()}, {"aa_second", DType::F32, {1}, b.data()}});
  EXPECT_FALSE(test::fs::exists(path + ".tmp"));
  const auto bytes = test::read_bytes(path);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  ASSERT_EQ(bytes.size(), 8 + n + 6 + 4);
  const std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n));
  EXPECT_EQ(header.front(), '{');
  const size_t close = header.rfind('}');
  ASSERT_NE(close, std::string::npos);
  EXPECT_EQ(header.find_first_not_of(' ', close + 1), std::string::npos) << "padding must be spaces";
  EXPECT_LT(header.find("zz_first"), header.find("aa_second"));  // header keeps the given order
  // Data in the given order, contiguous.
  EXPECT_EQ(std::memcmp(bytes.data() + 8 + n, a.data(), 6), 0);
  EXPECT_EQ(std::memcmp(bytes.data() + 8 + n + 6, b.data(), 4), 0);
  auto f = SafetensorsFile::open(path);
  ASSERT_EQ(f->tensors().size(), 2u);
  EXPECT_EQ(f->tensors()[0].name, "zz_first");
  EXPECT_EQ(f->tensors()[1].name, "aa_second");
  EXPECT_EQ(f->tensors()[1].begin, 6u);
  EXPECT_EQ(header.find("__metadata__"), std::string::npos);
}

TEST(SafetensorsWriter, OverwritesAtomicallyAndIgnoresStaleTmp) {
  TempDir tmp;
  const std::string path = tmp.file("o.safetensors");
  test::write_text(path + ".tmp", "stale garbage from a crashed writer");
  const int32_t v1 = 7, v2 = 9;
  write_safetensors(path, {{"x", DType::I32, {}, &v1}});
  write_safetensors(path, {{"y", DType::I32, {}, &v2}});
  EXPECT_FALSE(test::fs::exists(path + ".tmp"));
  auto f = SafetensorsFile::open(path);
  ASSERT_EQ(f->tensors().size(), 1u);
  EXPECT_EQ(f->tensors()[0].name, "y");
  int32_t got = 0;
  std::memcpy(&got, f->data(f->tensors()[0]), 4);
  EXPECT_EQ(got, 9);
}

TEST(SafetensorsWriter, RejectsBadInputAndLeavesNothing) {
  TempDir tmp;
  const std::string path = tmp.file("bad.safetensors");
  const float x[4] = {};
  std::string msg = error_of([&] { write_safetensors(path, {{"a", DType::F32, {1}, x}, {"a", DType::F32, {1}, x}}); });
  EXPECT_NE(msg.find("duplicate"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'a'"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  msg = error_of([&] { write_safetensors(path, {{"__metadata__", DType::F32, {1}, x}}); });
  EXPECT_NE(msg.find("reserved"), std::string::npos) << msg;
  msg = error_of([&] { write_safetensors(path, {{"neg", DType::F32, {2, -1}, x}}); });
  EXPECT_NE(msg.find("negative"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'neg'"), std::string::npos) << msg;
  msg = error_of([&] { write_safetensors(path, {{"null", DType::F32, {2}, nullptr}}); });
  EXPECT_NE(msg.find("null"), std::string::npos) << msg;
  msg = error_of([&] { write_safetensors(path, {{std::string("bad\xff", 4), DType::F32, {1}, x}}); });
  EXPECT_NE(msg.find("UTF-8"), std::string::npos) << msg;
  EXPECT_FALSE(test::fs::exists(path));
  EXPECT_FALSE(test::fs::exists(path + ".tmp"));
  // Unwritable location: the error names the path.
  const std::string nodir = tmp.file("no/such/dir/x.safetensors");
  msg = error_of([&] { write_safetensors(nodir, {{"a", DType::F32, {1}, x}}); });
  EXPECT_NE(msg.find(nodir), std::string::npos) << msg;
}

}  // namespace
}  // namespace elm::io
