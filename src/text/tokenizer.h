#pragma once
// Qwen3 byte-level BPE tokenizer read from a HuggingFace tokenizer.json. Encoding reproduces HF
// tokenizers: added tokens matched literally first, then NFC, the Qwen Split regex (Isolated),
// the byte-level alphabet and BPE merges by rank. See docs/tokenizer.md.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/chat_template.h"

namespace elm::text {

namespace detail {
struct TokenizerImpl;
}

class Tokenizer {
 public:
  // path: a tokenizer.json file, or a directory that contains tokenizer.json. Errors (missing file,
  // malformed JSON, unsupported model type/pretokenizer) throw elm::Error naming the file.
  static Tokenizer load(const std::string& path);

  // No special tokens are added. Added/special token text in the input (e.g. "<|im_end|>") is
  // matched literally BEFORE normalisation and maps to its id. Invalid UTF-8 input throws
  // elm::Error naming the byte offset. Thread-safe.
  std::vector<std::int32_t> encode(std::string_view text) const;

  // The same ids computed without the word cache and with the textbook O(n^2) merge loop: the
  // baseline of bench_tokenizer and a cross-check in tests.
  std::vector<std::int32_t> encode_naive(std::string_view text) const;

  // Lossy decode: byte-level bytes concatenated, invalid/incomplete UTF-8 replaced by U+FFFD per
  // maximal ill-formed subpart (as HF's from_utf8_lossy). Ids without a token (negative, or at or
  // above vocab_size(), e.g. the padded rows of a model's embedding) are skipped, as HF does.
  std::string decode(const std::vector<std::int32_t>& ids, bool skip_special_tokens = false) const;

  // Raw bytes of one token (no UTF-8 repair); empty for ids without a token.
  const std::string& token_bytes(std::int32_t id) const;

  // token is in the vocabulary's byte-level spelling ("Ġhello"), or an added token's content.
  std::optional<std::int32_t> token_to_id(std::string_view token) const;
  const std::string& id_to_token(std::int32_t id) const;  // throws elm::Error for out-of-range ids
  std::int32_t vocab_size() const;                         // max id + 1 (including added tokens)
  bool is_special(std::int32_t id) const;                  // added token with "special": true

  // The file it was loaded from.
  const std::string& path() const;

 private:
  explicit Tokenizer(std::shared_ptr<detail::TokenizerImpl> impl);
  std::shared_ptr<detail::TokenizerImpl> impl_;
};

// Streaming decoder for token-at-a-time generation: returns only complete UTF-8 text, holding back
// an incomplete multi-byte sequence until later tokens complete it; flush() emits what is left
// (lossy). The concatenation of every push() and the final flush() equals
// tokenizer.decode(all ids, skip_special_tokens).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false);
  std::string push(std::int32_t id);
  std::string flush();

 private:
  Tokenizer tokenizer_;  // shares the loaded data
  bool skip_special_;
  std::string pending_;
};

}  // namespace elm::text
