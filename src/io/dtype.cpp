#include "io/dtype.h"

#include <array>
#include <utility>

namespace elm::io {
namespace {

struct DTypeRow {
  DType type;
  const char* name;
  size_t bits;
};

constexpr std::array<DTypeRow, 15> kDTypes = {{
    {DType::BOOL, "BOOL", 8},     {DType::U8, "U8", 8},           {DType::I8, "I8", 8},
    {DType::I16, "I16", 16},      {DType::U16, "U16", 16},        {DType::F16, "F16", 16},
    {DType::BF16, "BF16", 16},    {DType::I32, "I32", 32},        {DType::U32, "U32", 32},
    {DType::F32, "F32", 32},      {DType::I64, "I64", 64},        {DType::U64, "U64", 64},
    {DType::F64, "F64", 64},      {DType::F8_E4M3, "F8_E4M3", 8}, {DType::F8_E5M2, "F8_E5M2", 8},
}};

const DTypeRow& row(DType t) {
  for (const auto& r : kDTypes)
    if (r.type == t) return r;
  return kDTypes[0];  // unreachable for valid enum values
}

}  // namespace

size_t dtype_bits(DType t) { return row(t).bits; }

const char* dtype_name(DType t) { return row(t).name; }

std::optional<DType> parse_dtype(std::string_view s) {
  for (const auto& r : kDTypes)
    if (s == r.name) return r.type;
  return std::nullopt;
}

}  // namespace elm::io
