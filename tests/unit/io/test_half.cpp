// bf16 / f16 <-> f32 scalar conversions against hand-computed bit patterns.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "io/half.h"

namespace elm::io {
namespace {

float F(uint32_t bits) { return f32_from_bits(bits); }

TEST(Half, Bf16ToF32IsUpperHalf) {
  EXPECT_EQ(f32_bits(bf16_to_f32(0x3F80)), 0x3F800000u);  // 1.0
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xC020), -2.5f);
  EXPECT_EQ(f32_bits(bf16_to_f32(0x0001)), 0x00010000u);  // bf16 subnormal -> f32 subnormal, exactly
  EXPECT_EQ(bf16_to_f32(0x0001), std::ldexp(1.0f, -133));
  EXPECT_EQ(bf16_to_f32(0x7F80), std::numeric_limits<float>::infinity());
  EXPECT_EQ(bf16_to_f32(0xFF80), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bf16_to_f32(0x7FC0)));
  EXPECT_EQ(f32_bits(bf16_to_f32(0x8000)), 0x80000000u);  // -0
}

TEST(Half, F32ToBf16Exact) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(-2.5f), 0xC020);
  EXPECT_EQ(f32_to_bf16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_bf16(F(0x00010000u)), 0x0001);  // subnormal survives
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(f32_to_bf16(-std::numeric_limits<float>::infinity()), 0xFF80);
}

TEST(Half, F32ToBf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(F(0x3F808000u)), 0x3F80);  // exact tie, 0x3F80 even -> stays
  EXPECT_EQ(f32_to_bf16(F(0x3F818000u)), 0x3F82);  // exact tie, 0x3F81 odd -> up
  EXPECT_EQ(f32_to_bf16(F(0x3F808001u)), 0x3F81);  // just above the tie -> up
  EXPECT_EQ(f32_to_bf16(F(0x3F807FFFu)), 0x3F80);  // just below -> down
  EXPECT_EQ(f32_to_bf16(F(0xBF818000u)), 0xBF82);  // negative tie
  EXPECT_EQ(f32_to_bf16(F(0x0000FFFFu)), 0x0001);  // subnormal rounds up
  EXPECT_EQ(f32_to_bf16(F(0x00008000u)), 0x0000);  // subnormal tie to even (0)
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);  // overflows to inf
  EXPECT_EQ(f32_to_bf16(F(0x7F7F7FFFu)), 0x7F7F);                     // largest that stays finite
}

TEST(Half, F32ToBf16NanStaysNan) {
  EXPECT_EQ(f32_to_bf16(F(0x7FC00000u)), 0x7FC0);
  EXPECT_EQ(f32_to_bf16(F(0xFFC00000u)), 0xFFC0);
  // Signalling NaN whose payload lives only in the low 16 bits: naive rounding would make it inf.
  EXPECT_EQ(f32_to_bf16(F(0x7F800001u)), 0x7FC0);
  EXPECT_EQ(f32_to_bf16(F(0x7FFFFFFFu)), 0x7FFF);  // would carry into the sign without the NaN path
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::nanf("")))));
}

TEST(Half, F16ToF32) {
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xC100), -2.5f);
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));          // smallest normal
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));          // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x03FF), 1023.0f * std::ldexp(1.0f, -24));  // largest subnormal
  EXPECT_EQ(f16_to_f32(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(f32_bits(f16_to_f32(0x0001)), 0x33800000u);
  EXPECT_EQ(f32_bits(f16_to_f32(0x8000)), 0x80000000u);
  EXPECT_EQ(f16_to_f32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(f16_to_f32(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7E00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7C01)));  // signalling NaN stays NaN
  EXPECT_EQ(f32_bits(f16_to_f32(0x7E00)), 0x7FC00000u);
}

TEST(Half, F32ToF16) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_f16(-2.5f), 0xC100);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7BFF);  // below the halfway point to 65536
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);  // tie to even -> inf
  EXPECT_EQ(f32_to_f16(1e10f), 0x7C00);
  EXPECT_EQ(f32_to_f16(-1e10f), 0xFC00);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14)), 0x0400);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(f32_to_f16(1023.0f * std::ldexp(1.0f, -24)), 0x03FF);
  EXPECT_EQ(f32_to_f16(-std::ldexp(1.0f, -24)), 0x8001);
  EXPECT_EQ(f32_to_f16(1e-10f), 0x0000);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::denorm_min()), 0x0000);
}

TEST(Half, F32ToF16RoundsToNearestEven) {
  const float ulp = std::ldexp(1.0f, -10);  // f16 spacing in [1, 2)
  EXPECT_EQ(f32_to_f16(1.0f + ulp / 2), 0x3C00);          // tie, even -> down
  EXPECT_EQ(f32_to_f16(1.0f + 3 * ulp / 2), 0x3C02);      // tie, odd -> up
  EXPECT_EQ(f32_to_f16(F(0x3F801001u)), 0x3C01);          // just above the tie
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);   // subnormal tie between 0 and 1 -> 0
  EXPECT_EQ(f32_to_f16(3 * std::ldexp(1.0f, -25)), 0x0002);  // tie between 1 and 2 -> 2
  EXPECT_EQ(f32_to_f16(F(0x33000001u)), 0x0001);          // just above 2^-25 -> 1
  // Largest subnormal + half an ulp rounds up into the smallest normal.
  EXPECT_EQ(f32_to_f16(1023.5f * std::ldexp(1.0f, -24)), 0x0400);
  // Mantissa carry into the exponent: 2 - 2^-12 rounds to 2.0.
  EXPECT_EQ(f32_to_f16(2.0f - std::ldexp(1.0f, -12)), 0x4000);
}

TEST(Half, F32ToF16NanStaysNan) {
  EXPECT_EQ(f32_to_f16(F(0x7FC00000u)), 0x7E00);
  EXPECT_EQ(f32_to_f16(F(0xFFC00000u)), 0xFE00);
  const uint16_t h = f32_to_f16(F(0x7F800001u));  // payload only in bits f16 drops
  EXPECT_EQ(h & 0x7C00, 0x7C00);
  EXPECT_NE(h & 0x03FF, 0);
}

TEST(Half, F16RoundTripsEveryPattern) {
  int checked = 0;
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f)))) << h;
      continue;
    }
    ASSERT_EQ(f32_to_f16(f), h) << "pattern " << h;
    ++checked;
  }
  EXPECT_EQ(checked, 65536 - 2 * 1023);  // every non-NaN pattern
}

TEST(Half, Bf16RoundTripsEveryPattern) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_bf16(f), h) << "pattern " << h;
  }
}

}  // namespace
}  // namespace elm::io
