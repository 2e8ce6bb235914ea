#include "io/row_checksum.h"

#include <cstdio>
#include <cstring>

namespace elm::io {
namespace {

// splitmix64's finaliser: every input bit reaches every output bit.
uint64_t mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t row_hash(const void* data, size_t bytes, int64_t row) {
  // Four independent lanes over 8-byte words (several GB/s), then the tail, the length and the
  // row index, finalised together.
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t lane[4] = {0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL, 0x165667b19e3779f9ULL, 0x27d4eb2f165667c5ULL};
  size_t i = 0;
  for (; i + 32 <= bytes; i += 32) {
    for (int k = 0; k < 4; ++k) {
      uint64_t w;
      std::memcpy(&w, p + i + 8 * k, 8);
      lane[k] = (lane[k] ^ w) * 0x100000001b3ULL;
      lane[k] = (lane[k] << 29) | (lane[k] >> 35);
    }
  }
  uint64_t h = mix(lane[0]) ^ (mix(lane[1]) * 3) ^ (mix(lane[2]) * 5) ^ (mix(lane[3]) * 7);
  for (; i < bytes; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  h ^= mix(static_cast<uint64_t>(bytes) + 0x632be59bd9b4e019ULL);
  return mix(h ^ mix(static_cast<uint64_t>(row) * 0x9e3779b97f4a7c15ULL + 1));
}

uint64_t rows_checksum(const void* data, int64_t count, size_t row_bytes, int64_t first, int64_t stride) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t x = 0;
  for (int64_t r = 0; r < count; ++r) x ^= row_hash(p + static_cast<size_t>(r) * row_bytes, row_bytes, first + r * stride);
  return x;
}

std::string checksum_text(uint64_t checksum) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "xor64:%016llx", static_cast<unsigned long long>(checksum));
  return buf;
}

bool parse_checksum_text(const std::string& text, uint64_t* checksum) {
  if (text.size() != 6 + 16 || text.compare(0, 6, "xor64:") != 0) return false;
  uint64_t v = 0;
  for (size_t i = 6; i < text.size(); ++i) {
    const char c = text[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *checksum = v;
  return true;
}

}  // namespace elm::io
