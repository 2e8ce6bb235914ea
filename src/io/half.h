#pragma once
// Scalar conversions between float32 and the 16-bit float formats (bfloat16, IEEE binary16).
// Everything works on bit patterns (uint16_t), never on a compiler half type, and is exact where the
// target can represent the value; narrowing rounds to nearest, ties to even. NaNs stay NaNs (quiet,
// sign kept); overflow goes to +-inf; subnormals are handled in both directions.
#include <cstdint>
#include <cstring>

namespace elm::io {

inline uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float f32_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// bfloat16 -> float32: exact (the bf16 bits are the upper half of the f32 bits).
inline float bf16_to_f32(uint16_t h) { return f32_from_bits(static_cast<uint32_t>(h) << 16); }

// float32 -> bfloat16, round to nearest even. NaN -> quiet NaN with the same sign and upper payload.
inline uint16_t f32_to_bf16(float f) {
  const uint32_t u = f32_bits(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);
  const uint32_t rounding = 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>((u + rounding) >> 16);
}

// IEEE binary16 -> float32: exact, including subnormals, +-0, +-inf and NaN payloads.
inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  if (exp == 0) {
    if (mant == 0) return f32_from_bits(sign);
    uint32_t e = 113;  // biased f32 exponent of 2^-14, the f16 subnormal scale (times 2^-10 per mantissa unit)
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --e;
    }
    mant &= 0x3FFu;
    return f32_from_bits(sign | (e << 23) | (mant << 13));
  }
  if (exp == 0x1F) return f32_from_bits(sign | 0x7F800000u | (mant << 13));
  return f32_from_bits(sign | ((exp + 112u) << 23) | (mant << 13));
}

// float32 -> IEEE binary16, round to nearest even; |x| >= 65520 -> inf; tiny values -> subnormals or 0.
inline uint16_t f32_to_f16(float f) {
  const uint32_t u = f32_bits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) {  // NaN: keep the top payload bits, force the quiet bit so it stays a NaN
    return static_cast<uint16_t>(sign | 0x7C00u | 0x0200u | ((a >> 13) & 0x3FFu));
  }
  if (a >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // >= 65520 (or inf) -> inf
  if (a >= 0x38800000u) {                                               // normal f16 range (>= 2^-14)
    const uint32_t mant = a & 0x7FFFFFu;
    uint32_t h = (((a >> 23) - 112u) << 10) | (mant >> 13);
    const uint32_t rem = mant & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is correct
    return static_cast<uint16_t>(sign | h);
  }
  // Subnormal f16 (or zero): value = k * 2^-24 with k = m * 2^(E+1), E the unbiased f32 exponent.
  const uint32_t exp32 = a >> 23;
  const uint32_t shift = 126u - exp32;  // >= 14 here
  if (exp32 == 0 || shift > 24u) return sign;
  const uint32_t m = (a & 0x7FFFFFu) | 0x800000u;
  uint32_t k = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (k & 1u))) ++k;  // k may become 0x400: the smallest normal, correctly
  return static_cast<uint16_t>(sign | k);
}

}  // namespace elm::io
