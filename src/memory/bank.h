#pragma once
// The memory bank: N entries of L token ids, a validity mask and the source text of each entry,
// kept in an HDF5 file a person can inspect (h5dump) and edit (`explicitlm bank set`).
// Layout and commands: docs/bank.md.
//
// Entry i lives in product-key grid cell (i / sqrt(N), i % sqrt(N)): the router's Cartesian index
// `r * sqrt(N) + c` is the row index, so N must be a perfect square.
// An entry is valid when at least one of its ids is not the pad id; invalid entries (all padding,
// e.g. the rows beyond the last fact) can never be selected.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "core/config.h"

#include "memory/bank_reader.h"

namespace elm::text {
class Tokenizer;
}

namespace elm::memory {

inline constexpr int64_t kBankFormatVersion = 1;
inline constexpr const char* kBankFormatName = "explicitlm-bank";

struct BankMetadata {
  int64_t format_version = kBankFormatVersion;
  int64_t pad_id = -1;
  int64_t vocab_size = 0;              // of the tokenizer the ids come from
  std::string tokenizer_path;          // absolute path of tokenizer.json
  std::string tokenizer_fingerprint;   // fingerprint_file(tokenizer.json)
  std::string source_path;             // knowledge base file ("" when built from facts in memory)
  std::string source_fingerprint;      // fingerprint_file(source) ("" when none)
  int64_t source_facts = 0;            // facts in the knowledge base
  std::string build_time;              // UTC, ISO 8601
};

struct MemoryBank {
  int64_t num_entries = 0;   // N
  int64_t entry_length = 0;  // L
  torch::Tensor tokens;      // [N, L] int32, pad_id after the end of each entry
  torch::Tensor valid;       // [N] bool
  std::vector<std::string> texts;         // [N] source text ("" for empty rows)
  std::vector<int32_t> token_counts;      // [N] tokens of the text before truncation to L
  BankMetadata meta;

  int64_t grid_side() const;                          // sqrt(N)
  std::pair<int64_t, int64_t> grid_cell(int64_t index) const;  // (index / sqrt(N), index % sqrt(N))
  bool truncated(int64_t index) const { return token_counts.at(static_cast<size_t>(index)) > entry_length; }
};

// Where the facts came from, recorded in the bank's metadata.
struct BankSource {
  std::string path;
  std::string fingerprint;
};

// "fnv1a64:<16 hex digits>:<size in bytes>" of a file's contents; error if it cannot be read.
std::string fingerprint_file(const std::string& path);

// sqrt(n) when n is a positive perfect square; otherwise an error explaining the requirement.
int64_t checked_grid_side(int64_t num_entries);

// The pad id: the id of "<|endoftext|>" (151643 for Qwen3). Error if the tokenizer lacks it.
int64_t default_pad_id(const text::Tokenizer& tokenizer);

// Tokenises one text for the bank: no special tokens added, truncated or padded with pad_id to
// `entry_length`. *token_count (if given) receives the length before truncation.
std::vector<int32_t> encode_entry(const text::Tokenizer& tokenizer, const std::string& text, int64_t entry_length,
                                  int64_t pad_id, int32_t* token_count = nullptr);

// Builds a bank: fact i becomes entry i; rows after the last fact are empty and invalid.
// More facts than entries is an error unless `truncate_facts`, which keeps the first N facts
// (the count is recorded as meta.source_facts so the loss is visible). Errors: N not a perfect
// square, L < 1, pad_id outside the vocabulary.
MemoryBank build_bank(const std::vector<std::string>& facts, const text::Tokenizer& tokenizer, int64_t num_entries,
                      int64_t entry_length, int64_t pad_id, const BankSource& source = {},
                      bool truncate_facts = false);

// Writes the bank atomically: PATH.tmp, the `complete` attribute last, fsync, rename over PATH.
void save_bank(const std::string& path, const MemoryBank& bank);

// N, L and the metadata of a bank file without reading its tables (checks the same attributes and
// dataset shapes as load_bank).
struct BankInfo {
  int64_t num_entries = 0, entry_length = 0;
  BankMetadata meta;
};
BankInfo read_bank_info(const std::string& path);

// Loads and validates a bank file: format name and version, the completion marker, dataset shapes,
// ids in [0, vocab_size) (the given one, else the recorded one; an error names the entry), and no
// entry marked valid that is all padding.
MemoryBank load_bank(const std::string& path, std::optional<int64_t> vocab_size = std::nullopt);

// Entries [first, first + count) of a bank file, read without loading the rest; a range outside
// the bank is an error. Returns a MemoryBank holding only those rows (num_entries = count).
MemoryBank read_bank_rows(const std::string& path, int64_t first, int64_t count);

// Tokens [count, L] int32 and validity [count] bool of entries first, first + stride, ... (count
// of them) of a checked bank file, without texts: what one rank of a sharded bank holds (block
// sharding: stride 1; cyclic: stride g). count 0 gives empty tables; a selection past the end is
// an error naming the file.
struct BankTable {
  BankInfo info;
  torch::Tensor tokens, valid;
};
BankTable read_bank_table(const std::string& path, int64_t first, int64_t count, int64_t stride = 1);

// The bank for training/inference: reuses `cache_path` when it is a complete bank built from the
// same knowledge base contents, tokenizer contents, N, L and pad id, unless `recompute`; otherwise
// builds from `kb_path` and (when cache_path is non-empty) saves it there. *reused tells which.
MemoryBank load_or_build_bank(const std::string& cache_path, const std::string& kb_path,
                              const text::Tokenizer& tokenizer, int64_t num_entries, int64_t entry_length,
                              bool recompute, bool* reused = nullptr);

// Makes sure `cache_path` holds the bank load_or_build_bank would return, without loading its rows
// when it is current (a sharded bank's ranks then read their own rows from it). Returns whether the
// file was reused (else it was built from kb_path).
bool ensure_bank_file(const std::string& cache_path, const std::string& kb_path, const text::Tokenizer& tokenizer,
                      int64_t num_entries, int64_t entry_length, bool recompute);

// Replaces entry `index` of the bank file with `text` (tokenised as build_bank does), atomically:
// the file is copied to PATH.tmp, the copy edited and fsynced, then renamed over PATH, so a crash
// leaves either the old or the new file. The tokenizer must be the one the bank was built with
// (same fingerprint). `before_commit` (tests) runs on the edited copy just before the rename; if it
// throws, PATH is untouched and the copy removed. Returns the new row's ids.
std::vector<int32_t> set_entry(const std::string& path, int64_t index, const std::string& text,
                               const text::Tokenizer& tokenizer,
                               const std::function<void(const std::string& tmp_path)>& before_commit = {});

// Indices of the entries whose text contains `substring` (byte-wise, case-sensitive), ascending.
std::vector<int64_t> find_entries(const MemoryBank& bank, const std::string& substring);

struct BankStats {
  int64_t num_entries = 0, entry_length = 0;
  int64_t valid = 0, invalid = 0;
  int64_t truncated = 0;                  // texts longer than L tokens
  std::vector<int64_t> length_histogram;  // [L + 1]: entries with k non-pad ids
  double mean_length = 0;                 // over valid entries
};
BankStats bank_stats(const MemoryBank& bank);

// A reader over the bank's tables for the memory layers.
// The bank a run uses, from its config: model.cache_path (reused while current, unless
// model.recompute_cache), model.database_init_path, model.knowledge_num, model.knowledge_length.
MemoryBank bank_from_config(const Config& config, const text::Tokenizer& tokenizer, bool* reused = nullptr);

LocalBankReader make_bank_reader(const MemoryBank& bank);

}  // namespace elm::memory
