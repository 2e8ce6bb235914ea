#pragma once
// Added (special and non-special) tokens are found in the raw input before normalisation, leftmost
// first and longest at a position (HF tokenizers' AddedVocabulary with normalized=false tokens).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace elm::text {

class AddedTokenMatcher {
 public:
  struct Segment {
    std::string_view text;  // the matched token text, or plain text between tokens
    std::int32_t id;        // the added token's id, or -1 for plain text
  };

  void add(std::string content, std::int32_t id);
  bool empty() const { return tokens_.empty(); }

  // Appends the segments of text to out; plain segments are never empty.
  void split(std::string_view text, std::vector<Segment>& out) const;

 private:
  struct Token {
    std::string content;
    std::int32_t id;
  };
  std::vector<Token> tokens_;
  // Indices into tokens_ by first byte, longest first.
  std::array<std::vector<std::uint32_t>, 256> by_first_byte_;
};

}  // namespace elm::text
