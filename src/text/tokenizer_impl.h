#pragma once
// Internal state shared by tokenizer_load.cpp, tokenizer.cpp and stream_decoder.cpp.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "text/added_tokens.h"
#include "text/bpe.h"

namespace elm::text::detail {

struct TokenizerImpl {
  std::string path;

  std::unordered_map<std::string, std::int32_t> vocab;  // byte-level spelling -> id (model vocab)
  std::unordered_map<std::string, std::int32_t> added;  // added token content -> id
  std::vector<std::string> tokens;                      // id -> token text ("" where no token)
  std::vector<std::string> bytes;                       // id -> raw bytes the token decodes to
  std::vector<std::uint8_t> has_token;                  // id -> 1 when the id exists
  std::vector<std::uint8_t> special;                    // id -> 1 for special added tokens

  AddedTokenMatcher matcher;
  std::unique_ptr<BpeMerges> merges;
  bool nfc = true;
  bool ignore_merges = false;  // HF "ignore_merges": a word that is itself in the vocab is one token

  // Word cache: raw bytes of a pre-tokenized word -> its ids. Cleared when full.
  static constexpr std::size_t kCacheCapacity = 1u << 17;
  static constexpr std::size_t kMaxCachedWordBytes = 256;
  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<std::int32_t>> cache;

  std::int32_t size() const { return static_cast<std::int32_t>(tokens.size()); }
  bool valid(std::int32_t id) const {
    return id >= 0 && id < size() && has_token[static_cast<std::size_t>(id)] != 0;
  }
};

}  // namespace elm::text::detail
