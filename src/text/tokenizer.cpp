// Tokenizer encode/decode and vocabulary queries.
#include "text/tokenizer.h"

#include "core/error.h"
#include "text/byte_level.h"
#include "text/pretokenizer.h"
#include "text/tokenizer_impl.h"
#include "text/unicode.h"

namespace elm::text {
namespace {

const std::string& empty_string() {
  static const std::string s;
  return s;
}

enum class Mode { kCached, kNaive };

// BPE of one word without the cache.
void merge_word(const detail::TokenizerImpl& impl, std::string_view word, Mode mode,
                std::vector<std::int32_t>& out) {
  if (impl.ignore_merges) {
    // Vocabulary entries are spelled in the byte-level alphabet.
    auto it = impl.vocab.find(bytes_to_byte_level(word));
    if (it != impl.vocab.end()) {
      out.push_back(it->second);
      return;
    }
  }
  if (mode == Mode::kNaive) {
    impl.merges->encode_word_naive(word, out);
  } else {
    impl.merges->encode_word(word, out);
  }
}

// Words are looked up in the shared cache a chunk at a time: one lock for the lookups and one for
// inserting the misses, with the BPE of the misses done unlocked in between.
constexpr std::size_t kChunkWords = 512;

void encode_segment(const detail::TokenizerImpl& impl, std::string_view text, Mode mode,
                    std::vector<std::int32_t>& out) {
  PieceScanner scanner(text);
  std::string_view piece;
  if (mode == Mode::kNaive) {
    while (scanner.next(piece)) merge_word(impl, piece, mode, out);
    return;
  }
  struct Word {
    std::string_view text;
    std::uint32_t offset;  // ids in buf
    std::uint32_t length;
    bool miss;
  };
  std::vector<Word> words;
  words.reserve(kChunkWords);
  std::vector<std::int32_t> buf;
  std::string key;
  for (;;) {
    words.clear();
    while (words.size() < kChunkWords && scanner.next(piece)) words.push_back(Word{piece, 0, 0, true});
    if (words.empty()) break;
    buf.clear();
    bool any_miss = false;
    {
      std::lock_guard<std::mutex> lock(impl.cache_mutex);
      for (Word& w : words) {
        if (w.text.size() > detail::TokenizerImpl::kMaxCachedWordBytes) continue;
        key.assign(w.text.data(), w.text.size());
        auto it = impl.cache.find(key);
        if (it == impl.cache.end()) continue;
        w.offset = static_cast<std::uint32_t>(buf.size());
        w.length = static_cast<std::uint32_t>(it->second.size());
        w.miss = false;
        buf.insert(buf.end(), it->second.begin(), it->second.end());
      }
    }
    for (Word& w : words) {
      if (!w.miss) continue;
      w.offset = static_cast<std::uint32_t>(buf.size());
      merge_word(impl, w.text, mode, buf);
      w.length = static_cast<std::uint32_t>(buf.size() - w.offset);
      any_miss = true;
    }
    if (any_miss) {
      std::lock_guard<std::mutex> lock(impl.cache_mutex);
      for (const Word& w : words) {
        if (!w.miss || w.text.size() > detail::TokenizerImpl::kMaxCachedWordBytes) continue;
        if (impl.cache.size() >= detail::TokenizerImpl::kCacheCapacity) impl.cache.clear();
        impl.cache.emplace(std::string(w.text),
                           std::vector<std::int32_t>(buf.begin() + w.offset, buf.begin() + w.offset + w.length));
      }
    }
    for (const Word& w : words) out.insert(out.end(), buf.begin() + w.offset, buf.begin() + w.offset + w.length);
  }
}

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::vector<std::int32_t> encode_impl(const detail::TokenizerImpl& impl, std::string_view text,
                                      Mode mode) {
  require_valid_utf8(text);
  std::vector<std::int32_t> out;
  out.reserve(text.size() / 3 + 4);
  std::vector<AddedTokenMatcher::Segment> segments;
  impl.matcher.split(text, segments);
  std::string normalized;
  for (const auto& seg : segments) {
    if (seg.id >= 0) {
      out.push_back(seg.id);
    } else if (!impl.nfc || is_ascii(seg.text)) {  // ASCII is always in NFC
      encode_segment(impl, seg.text, mode, out);
    } else {
      normalized = nfc(seg.text);
      encode_segment(impl, normalized, mode, out);
    }
  }
  return out;
}

}  // namespace

std::vector<std::int32_t> Tokenizer::encode(std::string_view text) const {
  return encode_impl(*impl_, text, Mode::kCached);
}

std::vector<std::int32_t> Tokenizer::encode_naive(std::string_view text) const {
  return encode_impl(*impl_, text, Mode::kNaive);
}

std::string Tokenizer::decode(const std::vector<std::int32_t>& ids, bool skip_special_tokens) const {
  const auto& impl = *impl_;
  std::string raw;
  raw.reserve(ids.size() * 4);
  for (std::int32_t id : ids) {
    if (!impl.valid(id)) continue;
    if (skip_special_tokens && impl.special[static_cast<std::size_t>(id)]) continue;
    raw += impl.bytes[static_cast<std::size_t>(id)];
  }
  return utf8_lossy(raw);
}

const std::string& Tokenizer::token_bytes(std::int32_t id) const {
  return impl_->valid(id) ? impl_->bytes[static_cast<std::size_t>(id)] : empty_string();
}

std::optional<std::int32_t> Tokenizer::token_to_id(std::string_view token) const {
  const std::string key(token);
  if (auto it = impl_->added.find(key); it != impl_->added.end()) return it->second;
  if (auto it = impl_->vocab.find(key); it != impl_->vocab.end()) return it->second;
  return std::nullopt;
}

const std::string& Tokenizer::id_to_token(std::int32_t id) const {
  ELM_CHECK(impl_->valid(id), "token id ", id, " is out of range (vocab size ", vocab_size(),
            ") for tokenizer ", impl_->path);
  return impl_->tokens[static_cast<std::size_t>(id)];
}

std::int32_t Tokenizer::vocab_size() const { return impl_->size(); }

bool Tokenizer::is_special(std::int32_t id) const {
  return impl_->valid(id) && impl_->special[static_cast<std::size_t>(id)] != 0;
}

const std::string& Tokenizer::path() const { return impl_->path; }

}  // namespace elm::text
