#pragma once
// Strict number parsing for command-line values: the whole text must be the number, and an error
// names what was being parsed ("--ids element 3: 'x' is not an integer").
#include <cstdint>
#include <string>
#include <vector>

namespace elm {

int64_t parse_int(const std::string& text, const std::string& what);
double parse_float(const std::string& text, const std::string& what);
// "1,2,3" (spaces allowed, also a JSON array "[1, 2, 3]") -> values; errors name the bad element.
std::vector<int64_t> parse_id_list(const std::string& text, const std::string& what);

}  // namespace elm
