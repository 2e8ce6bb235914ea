#pragma once
// Hand-written scanner for the Qwen2/Qwen3 Split pre-tokenizer (behaviour Isolated):
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// At each position the leftmost alternative that matches wins, with the greedy/backtracking
// semantics of Oniguruma (which HF tokenizers uses). Every position matches some alternative, so
// the pieces tile the input. \s is Unicode White_Space, \p{L} = Lu Ll Lt Lm Lo, \p{N} = Nd Nl No,
// and (?i) folds case as Unicode simple case folding does (so U+017F ſ matches 's').
#include <cstddef>
#include <string_view>
#include <vector>

namespace elm::text {

// The exact regex string this scanner implements (as it appears in tokenizer.json).
extern const std::string_view kQwenSplitPattern;

// Yields the pieces of valid UTF-8 text one at a time, without allocating.
class PieceScanner {
 public:
  explicit PieceScanner(std::string_view text) : text_(text) {}
  // Sets piece to the next piece and returns true, or returns false at the end of the text.
  bool next(std::string_view& piece);

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

// Appends all pieces of valid UTF-8 `text` to `out`, in order; their concatenation is `text`.
void pretokenize(std::string_view text, std::vector<std::string_view>& out);

}  // namespace elm::text
