// SafetensorsCheckpoint: single file, directory, sharded index, conversions, and the real reference model.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "io/half.h"
#include "io/safetensors.h"
#include "unit/io/io_test_util.h"

namespace elm::io {
namespace {
using test::error_of;
using test::TempDir;

bool has(const std::string& msg, const std::string& part) { return msg.find(part) != std::string::npos; }

// Two shards plus an index: shard 1 holds a (F32 [2,2]) and b (BF16 [3]); shard 2 holds c (I32 [2]).
struct ShardedDir {
  TempDir tmp;
  std::string dir() const { return tmp.path().string(); }
  std::string shard1() const { return tmp.file("model-00001-of-00002.safetensors"); }
  std::string shard2() const { return tmp.file("model-00002-of-00002.safetensors"); }
  std::string index() const { return tmp.file("model.safetensors.index.json"); }
  ShardedDir() {
    const float a[4] = {1.0f, -2.5f, 0.5f, 3.0f};
    const uint16_t b[3] = {0x3F80, 0xC020, 0x7F80};
    const int32_t c[2] = {-7, 1 << 20};
    write_safetensors(shard1(), {{"a", DType::F32, {2, 2}, a}, {"b", DType::BF16, {3}, b}});
    write_safetensors(shard2(), {{"c", DType::I32, {2}, c}});
    write_index(R"({"metadata":{"total_size":30},"weight_map":{)"
                R"("a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors",)"
                R"("c":"model-00002-of-00002.safetensors"}})");
  }
  void write_index(const std::string& text) const { test::write_text(index(), text); }
};

TEST(SafetensorsCheckpoint, ShardedDirectory) {
  ShardedDir d;
  const auto ck = SafetensorsCheckpoint::open(d.dir());
  EXPECT_EQ(ck.path(), d.dir());
  EXPECT_EQ(ck.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(ck.contains("b"));
  EXPECT_FALSE(ck.contains("d"));
  EXPECT_EQ(ck.file_of("a"), d.shard1());
  EXPECT_EQ(ck.file_of("c"), d.shard2());
  EXPECT_EQ(ck.info("a").shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(ck.info("b").dtype, DType::BF16);
  float a[4];
  ck.read_as_f32("a", a);
  EXPECT_EQ(a[0], 1.0f);
  EXPECT_EQ(a[1], -2.5f);
  EXPECT_EQ(a[3], 3.0f);
  float b[3];
  ck.read_as_f32("b", b);
  EXPECT_EQ(b[0], 1.0f);
  EXPECT_EQ(b[1], -2.5f);
  EXPECT_EQ(b[2], std::numeric_limits<float>::infinity());
  float c[2];
  ck.read_as_f32("c", c);
  EXPECT_EQ(c[0], -7.0f);
  EXPECT_EQ(c[1], 1048576.0f);
  int32_t raw_c = 0;
  std::memcpy(&raw_c, ck.raw("c"), 4);
  EXPECT_EQ(raw_c, -7);
  // The index file can be passed directly, too; copies share the shards.
  const auto by_index = SafetensorsCheckpoint::open(d.index());
  const SafetensorsCheckpoint copy = by_index;
  EXPECT_EQ(copy.names().size(), 3u);
  EXPECT_EQ(copy.raw("a"), by_index.raw("a"));
}

TEST(SafetensorsCheckpoint, IndexNamesMissingFile) {
  ShardedDir d;
  d.write_index(R"({"weight_map":{"a":"model-00001-of-00002.safetensors","z":"nope.safetensors"}})");
  const std::string msg = error_of([&] { SafetensorsCheckpoint::open(d.dir()); });
  EXPECT_TRUE(has(msg, "nope.safetensors")) << msg;
  EXPECT_TRUE(has(msg, "'z'")) << msg;
  EXPECT_TRUE(has(msg, d.index())) << msg;
}

TEST(SafetensorsCheckpoint, IndexNamesTensorNotInItsShard) {
  ShardedDir d;
  d.write_index(R"({"weight_map":{"a":"model-00001-of-00002.safetensors","c":"model-00001-of-00002.safetensors"}})");
  const std::string msg = error_of([&] { SafetensorsCheckpoint::open(d.dir()); });
  EXPECT_TRUE(has(msg, "'c'")) << msg;
  EXPECT_TRUE(has(msg, d.shard1())) << msg;
  EXPECT_TRUE(has(msg, "does not contain")) << msg;
}

TEST(SafetensorsCheckpoint, BadIndexFiles) {
  ShardedDir d;
  d.write_index(R"({"metadata":{}})");
  EXPECT_TRUE(has(error_of([&] { SafetensorsCheckpoint::open(d.dir()); }), "missing 'weight_map'"));
  d.write_index(R"({"weight_map":[]})");
  EXPECT_TRUE(has(error_of([&] { SafetensorsCheckpoint::open(d.dir()); }), "'weight_map' is not a JSON object"));
  d.write_index(R"({"weight_map":{"a":1}})");
  EXPECT_TRUE(has(error_of([&] { SafetensorsCheckpoint::open(d.dir()); }), "not a string"));
  d.write_index(R"({"weight_map":{"a":"../x.safetensors"}})");
  EXPECT_TRUE(has(error_of([&] { SafetensorsCheckpoint::open(d.dir()); }), "leaves the directory"));
  d.write_index(R"({"weight_map":{"a":"/etc/passwd"}})");
  EXPECT_TRUE(has(error_of([&] { SafetensorsCheckpoint::open(d.dir()); }), "absolute"));
  d.write_index(R"({"weight_map":{"a":"model-00001-of-00002.safetensors","a":"model-00001-of-00002.safetensors"}})");
  EXPECT_TRUE(has(error_of([&] { SafetensorsCheckpoint::open(d.dir()); }), "duplicate key 'a'"));
  d.write_index("{not json");
  const std::string msg = error_of([&] { SafetensorsCheckpoint::open(d.dir()); });
  EXPECT_TRUE(has(msg, "invalid JSON")) << msg;
  EXPECT_TRUE(has(msg, d.index())) << msg;
}

TEST(SafetensorsCheckpoint, DirectoryWithSingleFileAndEmptyDirectory) {
  TempDir tmp;
  std::string msg = error_of([&] { SafetensorsCheckpoint::open(tmp.path().string()); });
  EXPECT_TRUE(has(msg, "neither model.safetensors")) << msg;
  EXPECT_TRUE(has(msg, tmp.path().string())) << msg;
  const double v[2] = {0.1, -1e300};
  write_safetensors(tmp.file("model.safetensors"), {{"d", DType::F64, {2}, v}});
  const auto ck = SafetensorsCheckpoint::open(tmp.path().string());
  EXPECT_EQ(ck.names(), std::vector<std::string>{"d"});
  float out[2];
  ck.read_as_f32("d", out);
  EXPECT_EQ(out[0], 0.1f);
  EXPECT_EQ(out[1], -std::numeric_limits<float>::infinity());
  msg = error_of([&] { ck.info("nope"); });
  EXPECT_TRUE(has(msg, "'nope'")) << msg;
  EXPECT_TRUE(has(msg, tmp.path().string())) << msg;
  EXPECT_TRUE(has(error_of([&] { ck.file_of("nope"); }), "'nope'"));
  EXPECT_TRUE(has(error_of([&] { ck.raw("nope"); }), "'nope'"));
  EXPECT_TRUE(has(error_of([&] { SafetensorsCheckpoint::open(tmp.file("missing.safetensors")); }),
                  tmp.file("missing.safetensors")));
}

TEST(SafetensorsCheckpoint, ReadAsF32ConvertsEveryNumericDtype) {
  TempDir tmp;
  const std::string path = tmp.file("conv.safetensors");
  const uint8_t u8[3] = {0, 7, 255};
  const int8_t i8[3] = {-128, 0, 127};
  const uint16_t u16[3] = {0, 1, 65535};
  const int16_t i16[3] = {-32768, 5, 32767};
  const uint32_t u32[3] = {0, 16777216, 4294967040u};  // 2^24 and 2^32-256 are exact floats
  const int32_t i32[3] = {-16777216, 3, 2147483520};   // 2^31-128 is exact
  const int64_t i64[3] = {int64_t{1} << 40, -(int64_t{1} << 62), std::numeric_limits<int64_t>::min()};
  const uint64_t u64[3] = {0, uint64_t{1} << 63, 12345};
  const uint16_t f16[3] = {0x3C00, 0xC100, 0x0001};
  const uint16_t bf16[3] = {0x3F80, 0xC020, 0x0001};
  const float f32[3] = {1.0f, -2.5f, 1e-45f};
  const double f64[3] = {1.0, -2.5, 1.0 / 3.0};
  write_safetensors(path, {{"u8", DType::U8, {3}, u8},       {"i8", DType::I8, {3}, i8},
                           {"u16", DType::U16, {3}, u16},    {"i16", DType::I16, {3}, i16},
                           {"u32", DType::U32, {3}, u32},    {"i32", DType::I32, {3}, i32},
                           {"i64", DType::I64, {3}, i64},    {"u64", DType::U64, {3}, u64},
                           {"f16", DType::F16, {3}, f16},    {"bf16", DType::BF16, {3}, bf16},
                           {"f32", DType::F32, {3}, f32},    {"f64", DType::F64, {3}, f64}});
  const auto ck = SafetensorsCheckpoint::open(path);
  auto get = [&](const char* n) {
    std::vector<float> out(3, -999.0f);
    ck.read_as_f32(n, out.data());
    return out;
  };
  EXPECT_EQ(get("u8"), (std::vector<float>{0, 7, 255}));
  EXPECT_EQ(get("i8"), (std::vector<float>{-128, 0, 127}));
  EXPECT_EQ(get("u16"), (std::vector<float>{0, 1, 65535}));
  EXPECT_EQ(get("i16"), (std::vector<float>{-32768, 5, 32767}));
  EXPECT_EQ(get("u32"), (std::vector<float>{0, 16777216.0f, 4294967040.0f}));
  EXPECT_EQ(get("i32"), (std::vector<float>{-16777216.0f, 3, 2147483520.0f}));
  EXPECT_EQ(get("i64"), (std::vector<float>{std::ldexp(1.0f, 40), -std::ldexp(1.0f, 62), -std::ldexp(1.0f, 63)}));
  EXPECT_EQ(get("u64"), (std::vector<float>{0, std::ldexp(1.0f, 63), 12345}));
  EXPECT_EQ(get("f16"), (std::vector<float>{1.0f, -2.5f, std::ldexp(1.0f, -24)}));
  EXPECT_EQ(get("bf16"), (std::vector<float>{1.0f, -2.5f, std::ldexp(1.0f, -133)}));
  EXPECT_EQ(get("f32"), (std::vector<float>{1.0f, -2.5f, 1e-45f}));
  EXPECT_EQ(get("f64"), (std::vector<float>{1.0f, -2.5f, static_cast<float>(1.0 / 3.0)}));
}

TEST(SafetensorsCheckpoint, ReadAsF32RejectsInexactIntegersAndUnsupportedDtypes) {
  TempDir tmp;
  const std::string path = tmp.file("bad.safetensors");
  const int32_t i32[1] = {16777217};  // 2^24 + 1
  const int64_t i64[1] = {std::numeric_limits<int64_t>::max()};
  const uint64_t u64[1] = {std::numeric_limits<uint64_t>::max()};
  const uint32_t u32[1] = {4294967295u};
  const uint8_t bytes[2] = {1, 0};
  write_safetensors(path, {{"i32", DType::I32, {1}, i32},
                           {"i64", DType::I64, {1}, i64},
                           {"u64", DType::U64, {1}, u64},
                           {"u32", DType::U32, {1}, u32},
                           {"flag", DType::BOOL, {2}, bytes},
                           {"f8a", DType::F8_E4M3, {2}, bytes},
                           {"f8b", DType::F8_E5M2, {2}, bytes}});
  const auto ck = SafetensorsCheckpoint::open(path);
  float out[2];
  for (const char* n : {"i32", "i64", "u64", "u32"}) {
    const std::string msg = error_of([&] { ck.read_as_f32(n, out); });
    EXPECT_TRUE(has(msg, std::string("'") + n + "'")) << msg;
    EXPECT_TRUE(has(msg, "not exactly representable")) << msg;
    EXPECT_TRUE(has(msg, path)) << msg;
  }
  for (const char* n : {"flag", "f8a", "f8b"}) {
    const std::string msg = error_of([&] { ck.read_as_f32(n, out); });
    EXPECT_TRUE(has(msg, std::string("'") + n + "'")) << msg;
    EXPECT_TRUE(has(msg, "cannot convert")) << msg;
    EXPECT_TRUE(has(msg, path)) << msg;
  }
  EXPECT_TRUE(has(error_of([&] { ck.read_as_f32("flag", out); }), "BOOL"));
  EXPECT_TRUE(has(error_of([&] { ck.read_as_f32("f8a", out); }), "F8_E4M3"));
}

TEST(SafetensorsCheckpoint, ReadAsBf16) {
  TempDir tmp;
  const std::string path = tmp.file("bf.safetensors");
  const uint16_t bf16[3] = {0x3F80, 0x7FC1, 0x0001};  // copied bit-exactly, NaN payload included
  const uint32_t f32_bits[4] = {0x3F808000u, 0x3F818000u, 0x7F800001u, 0xC0200000u};
  const uint16_t f16[3] = {0x3C00, 0x0001, 0xFC00};
  const int32_t i32[1] = {1};
  write_safetensors(path, {{"bf16", DType::BF16, {3}, bf16},
                           {"f32", DType::F32, {4}, f32_bits},
                           {"f16", DType::F16, {3}, f16},
                           {"i32", DType::I32, {1}, i32}});
  const auto ck = SafetensorsCheckpoint::open(path);
  std::vector<uint16_t> out(4, 0xDEAD);
  ck.read_as_bf16("bf16", out.data());
  EXPECT_EQ(out[0], 0x3F80);
  EXPECT_EQ(out[1], 0x7FC1);
  EXPECT_EQ(out[2], 0x0001);
  ck.read_as_bf16("f32", out.data());
  EXPECT_EQ(out, (std::vector<uint16_t>{0x3F80, 0x3F82, 0x7FC0, 0xC020}));
  ck.read_as_bf16("f16", out.data());
  EXPECT_EQ(out[0], 0x3F80);
  EXPECT_EQ(out[1], 0x3380);  // 2^-24 is exact in bf16
  EXPECT_EQ(out[2], 0xFF80);
  const std::string msg = error_of([&] { ck.read_as_bf16("i32", out.data()); });
  EXPECT_TRUE(has(msg, "'i32'")) << msg;
  EXPECT_TRUE(has(msg, path)) << msg;
  EXPECT_TRUE(has(msg, "bfloat16")) << msg;
}

TEST(SafetensorsCheckpoint, ReferenceQwen3Tiny) {
  const std::string path = ELM_TEST_DATA_DIR "/reference/qwen3-tiny/model.safetensors";
  auto f = SafetensorsFile::open(path);
  EXPECT_EQ(f->tensors().size(), 35u);
  for (const auto& t : f->tensors()) EXPECT_EQ(t.dtype, DType::BF16) << t.name;
  const TensorInfo* emb = f->find("model.embed_tokens.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->shape, (std::vector<int64_t>{151936, 64}));
  EXPECT_EQ(emb->nbytes(), 151936u * 64u * 2u);

  const auto ck = SafetensorsCheckpoint::open(ELM_TEST_DATA_DIR "/reference/qwen3-tiny");
  EXPECT_EQ(ck.names().size(), 35u);
  EXPECT_EQ(ck.file_of("model.embed_tokens.weight"), std::string(ELM_TEST_DATA_DIR "/reference/qwen3-tiny/model.safetensors"));
  // Converting a small tensor: bf16 -> f32 is exact, so converting back gives the raw bits; values finite.
  std::string norm;
  for (const auto& n : ck.names())
    if (n.find("norm") != std::string::npos && ck.info(n).shape.size() == 1) norm = n;
  ASSERT_FALSE(norm.empty());
  const auto numel = static_cast<size_t>(ck.info(norm).numel());
  std::vector<float> vals(numel);
  std::vector<uint16_t> bits(numel);
  ck.read_as_f32(norm, vals.data());
  ck.read_as_bf16(norm, bits.data());
  for (size_t i = 0; i < numel; ++i) {
    ASSERT_TRUE(std::isfinite(vals[i])) << norm << "[" << i << "]";
    ASSERT_EQ(f32_to_bf16(vals[i]), bits[i]);
    uint16_t raw = 0;
    std::memcpy(&raw, ck.raw(norm) + 2 * i, 2);
    ASSERT_EQ(raw, bits[i]);
  }
}

}  // namespace
}  // namespace elm::io
