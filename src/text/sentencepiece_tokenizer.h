#pragma once
// XLM-RoBERTa's tokenizer: a SentencePiece (Unigram) model read by libsentencepiece, with the
// HF/fairseq id mapping: <s> 0, <pad> 1, </s> 2, <unk> 3, every other piece at its SentencePiece
// id + 1, <mask> after the last piece, then the added tokens. Added tokens ([NEW0]...) are matched
// literally first; each text segment between them is encoded by SentencePiece on its own (its own
// "▁" prefix), as HF's slow XLMRobertaTokenizer does. Decoding is HF's Metaspace decoder.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/added_tokens.h"
#include "text/sentencepiece_library.h"
#include "text/subword_tokenizer.h"

namespace elm::text {

class SentencePieceTokenizer final : public SubwordTokenizer {
 public:
  struct AddedToken {
    std::string content;
    std::int32_t id;
  };
  // model_file: sentencepiece.bpe.model. added: tokens at ids after <mask> (HF ids); ids that
  // collide with the mapped vocabulary are an error. extra_special_tokens as in
  // load_subword_tokenizer. Errors name the file.
  static std::unique_ptr<SentencePieceTokenizer> load(const std::string& model_file,
                                                      const std::vector<AddedToken>& added = {},
                                                      const std::vector<std::string>& extra_special_tokens = {});
  ~SentencePieceTokenizer() override;

  std::string kind() const override { return "sentencepiece"; }
  const std::string& path() const override { return path_; }
  std::vector<Piece> tokenize(std::string_view text) const override;
  std::optional<std::int32_t> find(std::string_view token) const override;
  const std::string& id_to_token(std::int32_t id) const override;
  std::int32_t vocab_size() const override { return static_cast<std::int32_t>(tokens_.size()); }
  std::int32_t unk_id() const override { return kUnk; }
  std::string tokens_to_string(const std::vector<std::string>& tokens) const override;
  const std::vector<std::string>& special_tokens() const override { return special_; }

  // The fairseq mapping between SentencePiece ids and HF ids.
  std::int32_t hf_id_of_piece(int spm_id) const;
  int piece_count() const;  // SentencePiece vocabulary size
  std::int32_t mask_id() const { return mask_id_; }

  static constexpr std::int32_t kBos = 0, kPad = 1, kEos = 2, kUnk = 3;

 private:
  SentencePieceTokenizer();

  std::string path_;
  std::unique_ptr<SentencePieceModel> sp_;
  std::vector<std::string> tokens_;  // HF id -> token
  std::unordered_map<std::string, std::int32_t> added_;
  AddedTokenMatcher matcher_;
  std::int32_t mask_id_ = 0;
  std::vector<std::string> special_;
};

// HF's Metaspace decoder (add_prefix_space): "▁" becomes a space, except in the first token where
// it is dropped; the tokens are concatenated.
std::string metaspace_decode(const std::vector<std::string>& tokens);

// Reads the added tokens ([NEW0]..., <mask> excluded) of an XLM-R directory: tokenizer.json's
// added_tokens, else added_tokens.json ({"token": id}); none when neither exists.
std::vector<SentencePieceTokenizer::AddedToken> read_xlmr_added_tokens(const std::string& model_dir);

}  // namespace elm::text
