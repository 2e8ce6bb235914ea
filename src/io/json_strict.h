#pragma once
// Internal helpers shared by the safetensors reader and the index loader (not part of the public API).
#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace elm::io::detail {

// True when [p, p+n) is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF);
// otherwise false and *bad_at (if given) is the offset of the first offending byte.
bool valid_utf8(const char* p, size_t n, size_t* bad_at = nullptr);

// Parses [begin, end) as JSON, rejecting invalid UTF-8, duplicate keys in any object (nlohmann would
// silently keep one) and nesting deeper than 64. Errors are elm::Error prefixed with `context`.
nlohmann::json parse_json_strict(const char* begin, const char* end, const std::string& context);

}  // namespace elm::io::detail
