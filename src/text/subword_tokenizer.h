#pragma once
// The tokenizer of a token-classification encoder (mBERT WordPiece, XLM-R SentencePiece), with the
// operations LLMLingua-2 uses through HF transformers: tokenize (token strings and ids, no special
// tokens), convert_tokens_to_ids / convert_ids_to_tokens, convert_tokens_to_string (the decoder).
// Torch-free. Immutable after loading, so one instance may be shared by threads.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace elm::text {

class SubwordTokenizer {
 public:
  struct Piece {
    std::string token;  // the token string as HF tokenize() returns it ("##ing", "▁Hello", "[NEW0]")
    std::int32_t id;
  };

  virtual ~SubwordTokenizer() = default;

  virtual std::string kind() const = 0;  // "wordpiece" or "sentencepiece"
  virtual const std::string& path() const = 0;  // the file or directory it was loaded from

  // HF tokenize(text): added tokens matched literally first, then the model. No [CLS]/[SEP] or
  // <s>/</s>. Invalid UTF-8 is an elm::Error naming the byte offset.
  virtual std::vector<Piece> tokenize(std::string_view text) const = 0;

  // convert_tokens_to_ids for one token: its id, or unk_id() when it is not a token.
  std::int32_t token_to_id(std::string_view token) const { return find(token).value_or(unk_id()); }
  virtual std::optional<std::int32_t> find(std::string_view token) const = 0;
  // convert_ids_to_tokens; elm::Error for an id outside [0, vocab_size()).
  virtual const std::string& id_to_token(std::int32_t id) const = 0;
  virtual std::int32_t vocab_size() const = 0;  // max id + 1, added tokens included
  virtual std::int32_t unk_id() const = 0;

  // convert_tokens_to_string: the fast tokenizer's decoder applied to token strings.
  virtual std::string tokens_to_string(const std::vector<std::string>& tokens) const = 0;

  // The token strings of HF's special_tokens_map without additional_special_tokens
  // ([CLS] [SEP] [PAD] [UNK] [MASK], or <s> </s> <pad> <unk> <mask>): LLMLingua-2 skips them.
  virtual const std::vector<std::string>& special_tokens() const = 0;
  bool is_special_token(std::string_view token) const;
};

// Loads the tokenizer of a token-classification model directory:
//   model_type "bert":        tokenizer.json (WordPiece) or vocab.txt (+ added_tokens.json);
//   model_type "xlm-roberta": sentencepiece.bpe.model (+ added tokens from tokenizer.json or
//                             added_tokens.json).
// extra_special_tokens (e.g. LLMLingua-2's [NEW0]..[NEW99]) are added as special added tokens at
// vocab_size(), vocab_size()+1, ... unless the files already have them (HF add_special_tokens).
std::unique_ptr<SubwordTokenizer> load_subword_tokenizer(const std::string& model_dir, const std::string& model_type,
                                                         const std::vector<std::string>& extra_special_tokens = {});

}  // namespace elm::text
