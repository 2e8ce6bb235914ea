// StreamDecoder: incremental, UTF-8-safe decoding of generated tokens.
#include "text/tokenizer.h"
#include "text/unicode.h"

namespace elm::text {

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_(skip_special_tokens) {}

std::string StreamDecoder::push(std::int32_t id) {
  if (skip_special_ && tokenizer_.is_special(id)) return {};
  pending_ += tokenizer_.token_bytes(id);
  // Everything before a trailing incomplete sequence decodes the same whatever bytes come next:
  // the lossy decoder decides each sequence from its own bytes only.
  const std::size_t keep = incomplete_utf8_tail(pending_);
  std::string out = utf8_lossy(std::string_view(pending_).substr(0, pending_.size() - keep));
  pending_.erase(0, pending_.size() - keep);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out = utf8_lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace elm::text
