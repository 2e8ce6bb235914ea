#pragma once
// LLMLingua-2 over a BERT or XLM-RoBERTa token classifier (microsoft/llmlingua-2-*): the force
// tokens and their [NEWi] stand-ins, 510-token chunks, p_keep = softmax(logits)[..., 1], the word
// merge and the per-chunk threshold of llmlingua2_rules.h. SPECS.md section 3, docs/extractor.md.
#include <memory>
#include <string>
#include <vector>

#include "infer/compressor.h"
#include "infer/llmlingua2_rules.h"
#include "model/token_classifier.h"
#include "text/subword_tokenizer.h"

namespace elm::infer {

struct LlmLingua2Options {
  std::string model_path;
  double rate = 0.4;  // fraction of the words to keep; reduce_rate = 1 - rate
  std::vector<std::string> force_tokens = {"\n", ".", "!", "?", ",", ":", ";"};
  std::vector<std::string> chunk_end_tokens = {".", "\n", "!", "?"};
  bool drop_consecutive = true;
  int64_t max_batch_size = 50;  // chunks per forward pass

  // The [extractor] keys.
  static LlmLingua2Options from_config(const elm::Config& config);
  void validate() const;  // errors name the extractor.* key
};

class LlmLingua2Compressor final : public Compressor {
 public:
  static constexpr int kMaxSeqLen = 512;   // the reference's max_seq_len, [CLS] and [SEP] included
  static constexpr int kMaxForceTokens = 100;

  // Loads config.json, model.safetensors and the tokenizer from options.model_path.
  explicit LlmLingua2Compressor(LlmLingua2Options options);
  // With a model and tokenizer already loaded (tests).
  LlmLingua2Compressor(LlmLingua2Options options, std::shared_ptr<const model::TokenClassifier> model,
                       std::shared_ptr<const text::SubwordTokenizer> tokenizer);

  std::string name() const override { return "llmlingua2"; }
  Compression compress(const std::string& text) const override;

  const LlmLingua2Options& options() const { return options_; }
  const llmlingua2::ForceTokens& force_tokens() const { return force_; }
  const text::SubwordTokenizer& tokenizer() const { return *tokenizer_; }
  const model::TokenClassifier& model() const { return *model_; }
  llmlingua2::WordRule word_rule() const { return rule_; }

  // The chunk strings of a text (force tokens already rewritten to [NEWi]) and the model input of
  // one chunk: [CLS] + tokenize(chunk) + [SEP], cut at kMaxSeqLen. "[CLS]" and "[SEP]" are looked
  // up as the reference does, so for XLM-R both become <unk> (3).
  std::vector<std::string> chunk_text(const std::string& rewritten, int64_t* tokens = nullptr) const;
  std::vector<std::int32_t> chunk_ids(const std::string& chunk) const;

 private:
  void setup();

  LlmLingua2Options options_;
  std::shared_ptr<const model::TokenClassifier> model_;
  std::shared_ptr<const text::SubwordTokenizer> tokenizer_;
  llmlingua2::ForceTokens force_;
  std::vector<std::string> chunk_end_;  // chunk_end_tokens plus their [NEWi]
  llmlingua2::WordRule rule_ = llmlingua2::WordRule::kWordPiece;
  std::int32_t cls_id_ = 0, sep_id_ = 0;
};

}  // namespace elm::infer
