#pragma once
// The word-level rules of LLMLingua-2 (SPECS.md section 3; LLMLingua's prompt_compressor.py),
// separate from the model so that tests can check them on their own: chunking, the token -> word
// merge, numpy's percentile, drop_consecutive and the keep threshold. No torch here.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace elm::infer::llmlingua2 {

// Word probabilities are float64 as in the reference under NumPy 1.x: Python's sum() over the
// float32 token probabilities starts from the int 0, which makes every partial sum a float64.

// numpy.percentile(values, q) with the default method ('linear') on float64 values: sorted a,
// virtual index i = (n - 1) * (q / 100), result = lerp(a[floor(i)], a[floor(i) + 1], i - floor(i))
// with numpy's _lerp (b - (b - a)(1 - t) when t >= 0.5). values non-empty, q in [0, 100].
double percentile(std::vector<double> values, double q);

// How a classifier's tokens start words.
enum class WordRule {
  kWordPiece,     // mBERT: a token starts a word unless it begins with "##"
  kSentencePiece  // XLM-R: a token starts a word when it begins with "▁" or is punctuation
};

// The force tokens and their replacements: token_map[t] = "[NEWi]" for the i-th force token t
// that does not tokenize to exactly one token (in force-token order).
struct ForceTokens {
  std::vector<std::string> tokens;
  std::vector<std::pair<std::string, std::string>> token_map;  // original -> [NEWi]
  bool is_force_token(const std::string& s) const;              // s in tokens
  bool is_mapped_token(const std::string& s) const;             // s in the values of token_map
  // Every [NEWi] in s replaced by its original (replace_added_token).
  std::string restore(std::string s) const;
  // Every original in s replaced by its [NEWi] (the text rewrite before tokenizing).
  std::string rewrite(std::string s) const;
};

struct Word {
  std::string text;  // merged pieces with [NEWi] restored, as LLMLingua-2 lists words (leading "▁" kept)
  std::vector<double> token_probs;  // the first is 1.0 for a forced word
  bool forced = false;              // its first token is a force token: probability 1.0
  int64_t tokens = 0;               // pieces merged into it
  double mean() const;              // sum(p) / len(p), summed from 0 left to right
};

// __merge_token_to_word: special tokens skipped; a token that starts a word (the rule above, or
// its pure form (without leading '#' / '▁') is a force token or a [NEWi]) opens one, others are
// appended without their prefix. A continuation with no word before it opens one (the reference
// would fail on it).
std::vector<Word> merge_tokens_to_words(const std::vector<std::string>& tokens, const std::vector<float>& probs,
                                        WordRule rule, const ForceTokens& force,
                                        const std::function<bool(const std::string&)>& is_special);

// The decision for one chunk's words.
struct ChunkLabels {
  std::vector<double> probs; // per word: the mean, 1.0 for forced, 0.0 for a dropped repeat
  std::vector<bool> keep;
  std::vector<std::string> kept_words;  // the texts that are joined into the output
  double threshold = 0;      // the keep threshold (on the token-weighted distribution)
  double drop_threshold = 0; // drop_consecutive's percentile (NaN when it is off)
};

// The reference's __compress for one chunk: with drop_consecutive, t1 = percentile(probs,
// int(100 * reduce_rate)) and a force word equal to the previous force word, with no word above t1
// in between, gets probability 0; then thr = percentile(probs repeated token_counts[i] times,
// int(100 * reduce_rate + 1)); a word is kept when prob > thr (or thr == 1.0 and prob == 1.0),
// except (drop_consecutive) a force word equal to the last kept word. No words: nothing kept.
ChunkLabels label_words(const std::vector<Word>& words, const std::vector<int64_t>& token_counts, double reduce_rate,
                        bool drop_consecutive, const ForceTokens& force);

// __chunk_context on token strings: [begin, end) ranges of at most max_len + 1 tokens; a chunk
// that does not reach the end is cut after the last chunk-end token in (begin, begin + max_len],
// or at begin + max_len when there is none.
std::vector<std::pair<std::size_t, std::size_t>> chunk_ranges(const std::vector<std::string>& tokens,
                                                              const std::vector<std::string>& chunk_end_tokens,
                                                              std::size_t max_len = 510);

// Python's `s in string.punctuation` (a substring test, so "" and ",-." are in).
bool in_string_punctuation(const std::string& s);

}  // namespace elm::infer::llmlingua2
