// PNG encoding with zlib's deflate and crc32 (the PNG CRC is the same CRC-32 zlib computes).
#include "io/png_writer.h"

#include <zlib.h>

#include "core/atomic_file.h"
#include "core/error.h"

namespace elm::io {
namespace {

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 24));
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

// length, type, data, CRC over type + data (PNG spec 5.3).
void put_chunk(std::vector<uint8_t>& out, const char type[4], const std::vector<uint8_t>& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  const size_t type_at = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  const uLong crc = crc32(0L, out.data() + type_at, static_cast<uInt>(4 + data.size()));
  put_u32(out, static_cast<uint32_t>(crc));
}

}  // namespace

std::vector<uint8_t> encode_png(int width, int height, const std::vector<uint8_t>& rgb) {
  ELM_CHECK(width > 0 && height > 0 && width <= (1 << 16) && height <= (1 << 16), "png: bad image size ", width,
            "x", height);
  const size_t row = static_cast<size_t>(width) * 3;
  ELM_CHECK(rgb.size() == row * static_cast<size_t>(height), "png: ", rgb.size(), " bytes of pixels for a ", width,
            "x", height, " RGB image (expected ", row * static_cast<size_t>(height), ")");

  // Scanlines, each prefixed by filter type 0 (None): simple and plenty for flat-colour charts.
  std::vector<uint8_t> raw;
  raw.reserve((row + 1) * static_cast<size_t>(height));
  for (int y = 0; y < height; ++y) {
    raw.push_back(0);
    raw.insert(raw.end(), rgb.begin() + static_cast<std::ptrdiff_t>(row * y),
               rgb.begin() + static_cast<std::ptrdiff_t>(row * (y + 1)));
  }
  uLongf zsize = compressBound(static_cast<uLong>(raw.size()));
  std::vector<uint8_t> idat(zsize);
  const int rc = compress2(idat.data(), &zsize, raw.data(), static_cast<uLong>(raw.size()), Z_BEST_COMPRESSION);
  ELM_CHECK(rc == Z_OK, "png: zlib compress2 failed (code ", rc, ")");
  idat.resize(zsize);

  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> ihdr;
  put_u32(ihdr, static_cast<uint32_t>(width));
  put_u32(ihdr, static_cast<uint32_t>(height));
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // bit depth 8, colour type 2 (RGB), deflate, filter 0, no interlace
  put_chunk(out, "IHDR", ihdr);
  put_chunk(out, "IDAT", idat);
  put_chunk(out, "IEND", {});
  return out;
}

void write_png(const std::string& path, int width, int height, const std::vector<uint8_t>& rgb) {
  const std::vector<uint8_t> bytes = encode_png(width, height, rgb);
  write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace elm::io
