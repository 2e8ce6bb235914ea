#pragma once
// mBERT's WordPiece tokenizer as HF tokenizers runs it: added tokens matched literally first, then
// BertNormalizer, BertPreTokenizer and greedy longest-match-first WordPiece ("##" continuations,
// [UNK] for a word that cannot be split or is longer than max_input_chars_per_word characters).
// The decoder is HF's WordPiece decoder (docs/extractor.md).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "text/added_tokens.h"
#include "text/bert_text.h"
#include "text/subword_tokenizer.h"

namespace elm::text {

struct WordPieceSpec {
  struct AddedToken {
    std::string content;
    std::int32_t id;
    bool special = true;
  };
  std::vector<std::pair<std::string, std::int32_t>> vocab;  // model vocab: token -> id
  std::vector<AddedToken> added;                            // matched literally before normalisation
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  int max_input_chars_per_word = 100;
  BertNormalizerOptions normalizer;
  bool decoder_cleanup = true;  // HF's WordPiece decoder `cleanup`
};

class WordPieceTokenizer final : public SubwordTokenizer {
 public:
  // path: tokenizer.json, vocab.txt, or a directory holding one of them (tokenizer.json first;
  // next to vocab.txt, added_tokens.json is read when present). Errors name the file.
  static std::unique_ptr<WordPieceTokenizer> load(const std::string& path,
                                                  const std::vector<std::string>& extra_special_tokens = {});
  // From parts; `origin` names the source in error messages. Throws elm::Error for duplicate ids,
  // an unk token missing from the vocab, or a bad option.
  static std::unique_ptr<WordPieceTokenizer> from_spec(WordPieceSpec spec, const std::string& origin,
                                                       const std::vector<std::string>& extra_special_tokens = {});

  std::string kind() const override { return "wordpiece"; }
  const std::string& path() const override { return path_; }
  std::vector<Piece> tokenize(std::string_view text) const override;
  std::optional<std::int32_t> find(std::string_view token) const override;
  const std::string& id_to_token(std::int32_t id) const override;
  std::int32_t vocab_size() const override { return static_cast<std::int32_t>(tokens_.size()); }
  std::int32_t unk_id() const override { return unk_id_; }
  std::string tokens_to_string(const std::vector<std::string>& tokens) const override;
  const std::vector<std::string>& special_tokens() const override { return special_; }

  // The pieces of one pre-tokenized word, appended to out.
  void tokenize_word(std::string_view word, std::vector<Piece>& out) const;
  const WordPieceSpec& spec() const { return spec_; }

 private:
  WordPieceTokenizer() = default;

  std::string path_;
  WordPieceSpec spec_;
  std::unordered_map<std::string, std::int32_t> vocab_;  // model vocab only (what WordPiece matches)
  std::unordered_map<std::string, std::int32_t> added_;  // added token content -> id
  std::vector<std::string> tokens_;                      // id -> token ("" for an unused id)
  AddedTokenMatcher matcher_;
  std::int32_t unk_id_ = 0;
  std::vector<std::string> special_;
};

// HF's WordPiece decoder: tokens after the first get a leading space unless they start with
// `prefix` (which is removed); with cleanup each token then goes through wordpiece_cleanup.
std::string wordpiece_decode(const std::vector<std::string>& tokens, std::string_view prefix = "##",
                             bool cleanup = true);
// HF's clean_up_tokenization: " ." -> ".", " ?", " !", " ,", " ' " -> "'", " n't", " 'm",
// " do not" -> " don't", " 's", " 've", " 're" (in that order).
std::string wordpiece_cleanup(std::string text);

// A tokenizer.json (HF format: BertNormalizer, BertPreTokenizer, WordPiece model and decoder,
// [CLS] $A [SEP] post-processor) for a spec; the tiny classifiers are written with it.
std::string wordpiece_tokenizer_json(const WordPieceSpec& spec);

}  // namespace elm::text
