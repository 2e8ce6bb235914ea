#pragma once
// Element types of safetensors files, with their on-disk names and widths.
#include <cstddef>
#include <optional>
#include <string_view>

namespace elm::io {

enum class DType { BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, I64, U64, F64, F8_E4M3, F8_E5M2 };

// Width of one element in bits (BOOL and the F8 types: 8).
size_t dtype_bits(DType t);
// Width of one element in bytes.
inline size_t dtype_bytes(DType t) { return dtype_bits(t) / 8; }
// The safetensors spelling: "BOOL", "U8", ..., "BF16", "F8_E4M3", "F8_E5M2".
const char* dtype_name(DType t);
// Inverse of dtype_name (exact, case-sensitive); nullopt for anything else.
std::optional<DType> parse_dtype(std::string_view s);

}  // namespace elm::io
