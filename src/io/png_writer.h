#pragma once
// Minimal PNG output for plots: 8-bit RGB, no interlace, one zlib-compressed IDAT, written
// atomically so a viewer never opens a half-written image.
#include <cstdint>
#include <string>
#include <vector>

namespace elm::io {

// Encodes width x height RGB pixels (row-major, 3 bytes per pixel, rgb.size() == w*h*3) as PNG
// bytes: signature, IHDR, IDAT (filter byte 0 before every row), IEND, each chunk with its CRC.
std::vector<uint8_t> encode_png(int width, int height, const std::vector<uint8_t>& rgb);

// encode_png, then write_file_atomic(path). Errors (bad size, unwritable path) are elm::Error.
void write_png(const std::string& path, int width, int height, const std::vector<uint8_t>& rgb);

}  // namespace elm::io
