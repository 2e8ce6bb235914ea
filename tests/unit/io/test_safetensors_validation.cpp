// One test per reader validation rule (SPECS.md section 2). Every bad file is built byte by byte here.
#include <gtest/gtest.h>

#include "io/safetensors.h"
#include "unit/io/io_test_util.h"

namespace elm::io {
namespace {
using test::raw_file;
using test::st_file;

class Validation : public ::testing::Test {
 protected:
  // Writes `bytes`, opens it, and returns the elm::Error message; fails the test if the open succeeds or
  // the message does not name the file.
  std::string open_error(const std::vector<uint8_t>& bytes) {
    const std::string path = tmp_.file("case" + std::to_string(counter_++) + ".safetensors");
    test::write_bytes(path, bytes);
    const std::string msg = test::error_of([&] { SafetensorsFile::open(path); });
    EXPECT_FALSE(msg.empty()) << "open unexpectedly succeeded";
    EXPECT_NE(msg.find(path), std::string::npos) << "message does not name the file: " << msg;
    return msg;
  }
  void expect_error(const std::vector<uint8_t>& bytes, std::initializer_list<const char*> parts) {
    const std::string msg = open_error(bytes);
    for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "missing '" << p << "' in: " << msg;
  }
  std::shared_ptr<SafetensorsFile> open_ok(const std::vector<uint8_t>& bytes) {
    const std::string path = tmp_.file("ok" + std::to_string(counter_++) + ".safetensors");
    test::write_bytes(path, bytes);
    return SafetensorsFile::open(path);
  }

  test::TempDir tmp_;
  int counter_ = 0;
};

const std::string kGood = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

TEST_F(Validation, BaselineIsValid) {
  auto f = open_ok(st_file(kGood, 8));
  ASSERT_EQ(f->tensors().size(), 1u);
  EXPECT_EQ(f->tensors()[0].nbytes(), 8u);
}

TEST_F(Validation, MissingFileNamesPath) {
  const std::string path = tmp_.file("does_not_exist.safetensors");
  const std::string msg = test::error_of([&] { SafetensorsFile::open(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
}

TEST_F(Validation, DirectoryIsRejected) {
  const std::string msg = test::error_of([&] { SafetensorsFile::open(tmp_.path().string()); });
  EXPECT_NE(msg.find("not a regular file"), std::string::npos) << msg;
}

TEST_F(Validation, FileShorterThan8Bytes) {
  expect_error({}, {"shorter than the 8-byte"});
  expect_error({1, 0, 0, 0, 0, 0, 0}, {"7 bytes", "shorter"});
}

TEST_F(Validation, HeaderLengthOverLimit) {
  expect_error(raw_file(100'000'001, kGood, 8), {"exceeds the limit"});
  expect_error(raw_file(~uint64_t{0}, kGood, 8), {"exceeds the limit"});
}

TEST_F(Validation, HeaderLengthPastEof) {
  expect_error(raw_file(kGood.size() + 9, kGood, 8), {"past the end"});
  expect_error(raw_file(1000, "", 0), {"past the end"});
}

TEST_F(Validation, HeaderNotUtf8) {
  std::string h = R"({"a)" + std::string("\xff\xfe", 2) + R"(":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  expect_error(st_file(h, 8), {"UTF-8"});
  // Overlong encoding of '/' and a lone surrogate are not UTF-8 either.
  expect_error(st_file("{\"\xc0\xaf\":{}}", 0), {"UTF-8"});
  expect_error(st_file("{\"\xed\xa0\x80\":{}}", 0), {"UTF-8"});
}

TEST_F(Validation, HeaderNotJson) {
  expect_error(st_file(R"({"a":{"dtype":"F32")", 0), {"invalid JSON"});
  expect_error(st_file("", 0), {"invalid JSON"});
  expect_error(st_file(kGood + "x", 8), {"invalid JSON"});
  expect_error(st_file(std::string("{\0}", 3), 0), {"invalid JSON"});
}

TEST_F(Validation, HeaderNotObject) {
  expect_error(st_file("[1,2]", 0), {"not a JSON object"});
  expect_error(st_file("\"str\"", 0), {"not a JSON object"});
  expect_error(st_file("7", 0), {"not a JSON object"});
}

TEST_F(Validation, PaddedHeaderIsFine) {
  auto f = open_ok(st_file(kGood + "      ", 8));
  EXPECT_EQ(f->tensors().size(), 1u);
}

TEST_F(Validation, EntryNotObject) {
  expect_error(st_file(R"({"w":[1,2]})", 0), {"'w'", "not a JSON object"});
}

TEST_F(Validation, MissingDtype) {
  expect_error(st_file(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", 8), {"'w'", "missing 'dtype'"});
}

TEST_F(Validation, MissingShape) {
  expect_error(st_file(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", 8), {"'w'", "missing 'shape'"});
}

TEST_F(Validation, MissingDataOffsets) {
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":[2]}})", 8), {"'w'", "missing 'data_offsets'"});
}

TEST_F(Validation, WrongFieldTypes) {
  expect_error(st_file(R"({"w":{"dtype":32,"shape":[2],"data_offsets":[0,8]}})", 8), {"'w'", "'dtype' is not a string"});
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})", 8), {"'w'", "'shape' is not an array"});
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", 8), {"'w'", "shape[0]"});
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", 8), {"'w'", "shape[0]"});
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":[2, 18446744073709551615],"data_offsets":[0,8]}})", 8),
               {"'w'", "shape[1]"});
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":"0,8"}})", 8), {"'w'", "data_offsets"});
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", 8), {"'w'", "data_offsets"});
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", 8), {"'w'", "data_offsets"});
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}})", 8), {"'w'", "data_offsets"});
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", 8), {"'w'", "data_offsets"});
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,1e30]}})", 8), {"'w'", "data_offsets"});
}

TEST_F(Validation, UnknownDtype) {
  expect_error(st_file(R"({"w":{"dtype":"F17","shape":[2],"data_offsets":[0,8]}})", 8), {"'w'", "unknown dtype 'F17'"});
  expect_error(st_file(R"({"w":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}})", 8), {"'w'", "unknown dtype"});
}

TEST_F(Validation, NegativeDim) {
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,0]}})", 0), {"'w'", "negative dimension -1"});
}

TEST_F(Validation, BeginAfterEnd) {
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8), {"'w'", "begin 8 > end 0"});
}

TEST_F(Validation, SizeDoesNotMatchShape) {
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), {"'w'", "needs 12"});
  expect_error(st_file(R"({"w":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,16]}})", 16), {"'w'", "needs 8"});
  // F8 is one byte per element.
  expect_error(st_file(R"({"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,8]}})", 8), {"'w'", "needs 4"});
  auto f = open_ok(st_file(R"({"w":{"dtype":"F8_E5M2","shape":[8],"data_offsets":[0,8]}})", 8));
  EXPECT_EQ(f->tensors()[0].dtype, DType::F8_E5M2);
  // Scalars hold one element.
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":[],"data_offsets":[0,0]}})", 0), {"'w'", "needs 4"});
  // Overflowing shapes are reported, not wrapped.
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0),
               {"'w'", "overflow"});
  expect_error(st_file(R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})", 0),
               {"'w'", "overflow"});
}

TEST_F(Validation, ZeroSizeDimsHaveNoData) {
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":[0,4],"data_offsets":[0,16]}})", 16), {"'w'", "needs 0"});
  // A zero dim next to a huge one is still zero elements, not an overflow.
  auto f = open_ok(st_file(R"({"w":{"dtype":"F32","shape":[0,9223372036854775807,9223372036854775807],"data_offsets":[0,0]}})", 0));
  EXPECT_EQ(f->tensors()[0].numel(), 0);
}

TEST_F(Validation, NotContiguousGap) {
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12), {"'w'", "gap", "begin at 0"});
  expect_error(st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                       R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12),
               {"'b'", "gap", "begin at 4"});
}

TEST_F(Validation, NotContiguousOverlap) {
  expect_error(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
               {"'b'", "overlap"});
  // Two tensors on the very same bytes.
  expect_error(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8),
               {"overlap"});
}

TEST_F(Validation, OutOfOrderHeaderIsFineWhenContiguous) {
  auto f = open_ok(st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                           R"("z":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                           R"("e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})", 8));
  ASSERT_EQ(f->tensors().size(), 3u);
  EXPECT_EQ(f->tensors()[0].name, "z");
  EXPECT_EQ(f->tensors()[1].name, "e");
  EXPECT_EQ(f->tensors()[2].name, "a");
}

TEST_F(Validation, TrailingBytes) {
  expect_error(st_file(kGood, 9), {"1 trailing bytes"});
  expect_error(st_file(R"({})", 3), {"3 trailing bytes"});
}

TEST_F(Validation, TruncatedData) {
  expect_error(st_file(kGood, 7), {"truncated"});
  expect_error(st_file(kGood, 0), {"truncated"});
}

TEST_F(Validation, TruncatedWrittenFileLosesLastByte) {
  const std::string path = tmp_.file("full.safetensors");
  const std::vector<float> v = {1, 2, 3};
  write_safetensors(path, {{"v", DType::F32, {3}, v.data()}});
  auto bytes = test::read_bytes(path);
  ASSERT_NO_THROW(SafetensorsFile::open(path));
  bytes.pop_back();
  expect_error(bytes, {"truncated"});
}

TEST_F(Validation, DuplicateTensorNames) {
  expect_error(st_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                       R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
               {"duplicate key 'w'"});
}

TEST_F(Validation, DuplicateKeysInsideEntryOrMetadata) {
  expect_error(st_file(R"({"w":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}})", 4),
               {"duplicate key 'dtype'"});
  expect_error(st_file(R"({"__metadata__":{"k":"1","k":"2"}})", 0), {"duplicate key 'k'"});
}

TEST_F(Validation, MetadataMustBeStringMap) {
  expect_error(st_file(R"({"__metadata__":{"k":1}})", 0), {"__metadata__", "'k'", "not a string"});
  expect_error(st_file(R"({"__metadata__":{"k":{"x":"y"}}})", 0), {"__metadata__", "not a string"});
  expect_error(st_file(R"({"__metadata__":["a","b"]})", 0), {"'__metadata__' is not a JSON object"});
  expect_error(st_file(R"({"__metadata__":"x"})", 0), {"'__metadata__' is not a JSON object"});
  expect_error(st_file(R"({"__metadata__":null})", 0), {"'__metadata__' is not a JSON object"});
  auto f = open_ok(st_file(R"({"__metadata__":{"format":"pt","":""}})", 0));
  EXPECT_EQ(f->metadata().at("format"), "pt");
  EXPECT_EQ(f->metadata().size(), 2u);
}

TEST_F(Validation, DeepNestingIsRejectedNotRecursed) {
  std::string deep = R"({"w":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  expect_error(st_file(deep, 0), {"nested deeper"});
}

}  // namespace
}  // namespace elm::io
