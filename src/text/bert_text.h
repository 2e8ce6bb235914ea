#pragma once
// The text side of HF's BERT tokenizer: BertNormalizer (clean_text, handle_chinese_chars; cased, so
// no lowercasing and no accent stripping) and BertPreTokenizer (split on whitespace, isolate every
// punctuation character). Used by the WordPiece tokenizer of mBERT (docs/extractor.md).
#include <string>
#include <string_view>
#include <vector>

namespace elm::text {

// HF's _is_punctuation: ASCII 33-47, 58-64, 91-96, 123-126, or any Unicode P* category.
bool is_bert_punctuation(char32_t cp);
// HF's _is_control as BertNormalizer uses it: any C* category except \t \n \r.
bool is_bert_control(char32_t cp);
// HF's _is_whitespace in the normalizer: space, \t, \n, \r or category Zs.
bool is_bert_whitespace(char32_t cp);
// The CJK Unified Ideograph blocks BERT surrounds with spaces (not Hiragana, Katakana or Hangul).
bool is_cjk_ideograph(char32_t cp);

struct BertNormalizerOptions {
  bool clean_text = true;            // drop U+0000, U+FFFD and controls; whitespace -> ' '
  bool handle_chinese_chars = true;  // " " + ideograph + " "
};

// Normalises valid UTF-8 text (callers check validity first).
std::string bert_normalize(std::string_view text, const BertNormalizerOptions& options = {});

// Splits normalised text into words: runs of non-whitespace, non-punctuation characters, and each
// punctuation character on its own. Whitespace (Unicode White_Space) separates and is dropped.
std::vector<std::string> bert_pre_tokenize(std::string_view text);

}  // namespace elm::text
