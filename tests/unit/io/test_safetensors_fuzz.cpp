// Seeded mutation fuzzing: random byte flips, insertions, deletions and truncations of a small valid file
// must either open cleanly (and then be internally consistent) or throw elm::Error -- nothing else.
#include <gtest/gtest.h>

#include <random>

#include "io/safetensors.h"
#include "unit/io/io_test_util.h"

namespace elm::io {
namespace {

std::vector<uint8_t> small_valid_file(const std::string& path) {
  const float a[6] = {1, 2, 3, 4, 5, 6};
  const uint16_t b[3] = {0x3F80, 0xC020, 0x7F80};
  const int64_t c = 42;
  const uint8_t d[2] = {1, 0};
  write_safetensors(path,
                    {{"a", DType::F32, {2, 3}, a},
                     {"b", DType::BF16, {3}, b},
                     {"c", DType::I64, {}, &c},
                     {"d", DType::BOOL, {2}, d},
                     {"e", DType::F16, {0, 5}, nullptr}},
                    {{"format", "pt"}});
  return test::read_bytes(path);
}

TEST(SafetensorsFuzz, MutationsOnlyEverThrowElmError) {
  test::TempDir tmp;
  const auto base = small_valid_file(tmp.file("base.safetensors"));
  ASSERT_GT(base.size(), 100u);
  uint64_t header_len = 0;
  std::memcpy(&header_len, base.data(), 8);
  const std::string path = tmp.file("fuzz.safetensors");

  std::mt19937_64 rng(20240601);
  int ok = 0, rejected = 0;
  constexpr int kIters = 2000;
  for (int it = 0; it < kIters; ++it) {
    std::vector<uint8_t> bytes = base;
    const int kind = static_cast<int>(rng() % 10);
    // Mostly mutate the length prefix and the header, where the parser lives; sometimes anywhere.
    const size_t span = (rng() % 4 == 0) ? bytes.size() : static_cast<size_t>(8 + header_len);
    const size_t pos = rng() % span;
    if (kind <= 5) {
      bytes[pos] = static_cast<uint8_t>(rng());                       // random byte
    } else if (kind == 6) {
      bytes[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));          // single bit flip
    } else if (kind == 7) {
      bytes.resize(rng() % bytes.size());                             // truncation
    } else if (kind == 8) {
      bytes.erase(bytes.begin() + static_cast<long>(pos));            // deletion
    } else {
      bytes.insert(bytes.begin() + static_cast<long>(pos), static_cast<uint8_t>(rng()));  // insertion
    }
    test::write_bytes(path, bytes);
    try {
      auto f = SafetensorsFile::open(path);
      ++ok;
      // A file that opened must be self-consistent and every byte of every tensor readable.
      uint64_t pos_in_data = 0;
      unsigned sum = 0;
      for (const auto& t : f->tensors()) {
        ASSERT_EQ(t.begin, pos_in_data);
        ASSERT_EQ(static_cast<uint64_t>(t.numel()) * dtype_bytes(t.dtype), t.nbytes());
        const uint8_t* p = f->data(t);
        for (uint64_t i = 0; i < t.nbytes(); ++i) sum += p[i];
        pos_in_data = t.end;
      }
      ASSERT_EQ(8 + f->header_size() + pos_in_data, f->file_size());
      ASSERT_EQ(f->file_size(), bytes.size());
      (void)sum;
    } catch (const elm::Error& e) {
      ++rejected;
      ASSERT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      FAIL() << "iteration " << it << ": non-elm exception " << typeid(e).name() << ": " << e.what();
    } catch (...) {
      FAIL() << "iteration " << it << ": unknown exception";
    }
  }
  RecordProperty("opened", ok);
  RecordProperty("rejected", rejected);
  EXPECT_EQ(ok + rejected, kIters);
  // Both outcomes must occur: data-byte mutations stay valid, header damage is caught.
  EXPECT_GT(ok, 20);
  EXPECT_GT(rejected, 1000);
}

}  // namespace
}  // namespace elm::io
