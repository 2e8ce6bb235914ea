#pragma once
// The checksum of a dataset that many ranks write in pieces: every row is hashed with its row
// index, and the row hashes are combined with XOR. So a rank can checksum the rows it writes (a
// contiguous range or a strided shard of the bank), the partial checksums XOR together in any
// order to the checksum of the whole dataset, and a reader recomputes it from the file alone.
// Moving, swapping or changing a row changes it. A scalar (or a string) is one row, index 0.
//
// Not a cryptographic hash: it detects damage (a flipped bit, a truncated or overwritten range),
// not tampering. Stored as the text "xor64:<16 hex digits>" (checksum_text).
#include <cstddef>
#include <cstdint>
#include <string>

namespace elm::io {

// The hash of one row of `bytes` bytes at row index `row`.
uint64_t row_hash(const void* data, size_t bytes, int64_t row);

// XOR of row_hash over `count` dense rows of `row_bytes` each, holding rows first, first + stride,
// ... of the dataset.
uint64_t rows_checksum(const void* data, int64_t count, size_t row_bytes, int64_t first, int64_t stride = 1);

std::string checksum_text(uint64_t checksum);
// Parses checksum_text's form; false for anything else.
bool parse_checksum_text(const std::string& text, uint64_t* checksum);

}  // namespace elm::io
