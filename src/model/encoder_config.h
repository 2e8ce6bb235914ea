#pragma once
// Hyper-parameters of a BERT / XLM-RoBERTa token classifier (BertForTokenClassification,
// XLMRobertaForTokenClassification) as HuggingFace writes them in config.json.
#include <cstdint>
#include <string>
#include <vector>

namespace elm::model {

struct EncoderConfig {
  std::string model_type = "bert";  // "bert" or "xlm-roberta"
  int64_t vocab_size = 119547;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;
  std::vector<std::string> labels = {"LABEL_0", "LABEL_1"};  // id2label in id order

  bool is_xlm_roberta() const { return model_type == "xlm-roberta"; }
  int64_t num_labels() const { return static_cast<int64_t>(labels.size()); }
  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  // "bert." or "roberta.": the prefix of the encoder's tensor names.
  std::string tensor_prefix() const { return is_xlm_roberta() ? "roberta." : "bert."; }
  // The longest input (special tokens included) the position table allows: BERT uses positions
  // 0..T-1, XLM-R pad+1..pad+T.
  int64_t max_tokens() const;

  // Checks what the forward pass relies on; `origin` names the file in messages.
  void validate(const std::string& origin) const;
};

// Parses config.json (a file, or a model directory holding one). Missing optional keys take the
// HF defaults of the model type; a wrong type, an unsupported hidden_act / position_embedding_type
// or an impossible shape is an elm::Error naming the file and key.
EncoderConfig load_encoder_config(const std::string& file_or_dir);
EncoderConfig parse_encoder_config(const std::string& json_text, const std::string& origin);
std::string encoder_config_to_json(const EncoderConfig& config);

}  // namespace elm::model
