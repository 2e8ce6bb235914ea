// io/png_writer: the bytes are a valid PNG (signature, chunk CRCs, IHDR fields), the IDAT inflates
// back to the pixels with filter byte 0 per row, `file` recognises it, and errors are elm::Error.
#include <zlib.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "io/png_writer.h"
#include "support/assertions.h"
#include "support/scratch_dir.h"

namespace elm::io {
namespace {

namespace fs = std::filesystem;

uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

struct Chunk {
  std::string type;
  std::vector<uint8_t> data;
};

// Splits a PNG into chunks, checking the signature and every CRC on the way.
std::vector<Chunk> parse_png(const std::vector<uint8_t>& png) {
  static const uint8_t kSig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<Chunk> chunks;
  EXPECT_GE(png.size(), 8u);
  EXPECT_TRUE(std::equal(kSig, kSig + 8, png.begin())) << "bad signature";
  size_t at = 8;
  while (at + 12 <= png.size()) {
    const uint32_t len = be32(&png[at]);
    EXPECT_LE(at + 12 + len, png.size()) << "chunk overruns the file";
    if (at + 12 + len > png.size()) break;
    Chunk c{std::string(png.begin() + at + 4, png.begin() + at + 8),
            std::vector<uint8_t>(png.begin() + at + 8, png.begin() + at + 8 + len)};
    const uint32_t crc = static_cast<uint32_t>(crc32(0L, &png[at + 4], 4 + len));
    EXPECT_EQ(be32(&png[at + 8 + len]), crc) << "CRC of chunk " << c.type;
    chunks.push_back(std::move(c));
    at += 12 + len;
  }
  EXPECT_EQ(at, png.size()) << "trailing bytes after the last chunk";
  return chunks;
}

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::vector<uint8_t> test_pixels(int w, int h) {
  std::vector<uint8_t> rgb;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) rgb.insert(rgb.end(), {uint8_t(x * 40), uint8_t(y * 70), uint8_t(255 - x - y)});
  return rgb;
}

TEST(PngWriter, ChunksCrcsAndPixelsRoundTrip) {
  const int w = 5, h = 3;
  const auto rgb = test_pixels(w, h);
  const auto chunks = parse_png(encode_png(w, h, rgb));
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].type, "IHDR");
  EXPECT_EQ(chunks[1].type, "IDAT");
  EXPECT_EQ(chunks[2].type, "IEND");
  EXPECT_TRUE(chunks[2].data.empty());
  const auto& ihdr = chunks[0].data;
  ASSERT_EQ(ihdr.size(), 13u);
  EXPECT_EQ(be32(&ihdr[0]), 5u);
  EXPECT_EQ(be32(&ihdr[4]), 3u);
  EXPECT_EQ(ihdr[8], 8);   // bit depth
  EXPECT_EQ(ihdr[9], 2);   // RGB
  EXPECT_EQ(ihdr[10], 0);  // deflate
  EXPECT_EQ(ihdr[11], 0);  // filter method
  EXPECT_EQ(ihdr[12], 0);  // no interlace

  std::vector<uint8_t> raw(h * (1 + w * 3) + 16);
  uLongf raw_size = raw.size();
  ASSERT_EQ(uncompress(raw.data(), &raw_size, chunks[1].data.data(), chunks[1].data.size()), Z_OK);
  ASSERT_EQ(raw_size, static_cast<uLongf>(h * (1 + w * 3)));
  for (int y = 0; y < h; ++y) {
    const uint8_t* row = &raw[y * (1 + w * 3)];
    EXPECT_EQ(row[0], 0) << "filter byte of row " << y;
    EXPECT_TRUE(std::equal(row + 1, row + 1 + w * 3, rgb.begin() + y * w * 3)) << "pixels of row " << y;
  }
}

TEST(PngWriter, WritesAtomicallyAndFileRecognisesIt) {
  const auto dir = elm::testing::scratch_dir("png", "write");
  const auto path = dir / "img.png";
  const auto rgb = test_pixels(7, 4);
  write_png(path.string(), 7, 4, rgb);
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  const auto bytes = read_bytes(path);
  EXPECT_EQ(bytes, encode_png(7, 4, rgb));

  if (std::system("command -v file >/dev/null 2>&1") != 0) GTEST_SKIP() << "`file` is not installed";
  FILE* pipe = ::popen(("file -b '" + path.string() + "'").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::array<char, 256> buf{};
  std::string out;
  while (std::fgets(buf.data(), buf.size(), pipe)) out += buf.data();
  ::pclose(pipe);
  EXPECT_CONTAINS(out, "PNG image data, 7 x 4, 8-bit/color RGB");
}

TEST(PngWriter, LargeFlatImageCompresses) {
  // A chart is mostly white: deflate must shrink it far below the raw size.
  const int w = 960, h = 540;
  const std::vector<uint8_t> rgb(size_t(w) * h * 3, 255);
  const auto png = encode_png(w, h, rgb);
  EXPECT_LT(png.size(), rgb.size() / 50);
  const auto chunks = parse_png(png);
  ASSERT_EQ(chunks.size(), 3u);
}

TEST(PngWriter, RejectsBadSizesAndUnwritablePaths) {
  EXPECT_CONTAINS(elm::testing::error_of([] { encode_png(2, 2, std::vector<uint8_t>(11)); }), "expected 12");
  EXPECT_CONTAINS(elm::testing::error_of([] { encode_png(0, 2, {}); }), "bad image size");
  const auto dir = elm::testing::scratch_dir("png", "bad");
  const std::string path = (dir / "missing" / "img.png").string();
  EXPECT_CONTAINS(elm::testing::error_of([&] { write_png(path, 1, 1, {1, 2, 3}); }), path);
}

}  // namespace
}  // namespace elm::io
