#pragma once
// Qwen3 hyper-parameters as HuggingFace writes them in config.json.
#include <cstdint>
#include <string>

namespace elm::model {

struct Qwen3Config {
  int64_t vocab_size = 151936;
  int64_t hidden_size = 1024;
  int64_t intermediate_size = 3072;
  int64_t num_hidden_layers = 28;
  int64_t num_attention_heads = 16;
  int64_t num_key_value_heads = 8;
  int64_t head_dim = 128;  // need not equal hidden_size / num_attention_heads
  int64_t max_position_embeddings = 40960;
  double rope_theta = 1e6;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = true;
  int64_t bos_token_id = 151643;
  int64_t eos_token_id = 151645;
  std::string torch_dtype = "bfloat16";

  int64_t q_dim() const { return num_attention_heads * head_dim; }
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }

  // Checks the invariants the forward pass relies on; `origin` names the file in messages.
  void validate(const std::string& origin) const;
};

// Parses config.json (a file, or a model directory holding one). Missing optional keys take the
// HF defaults; a wrong type or an impossible shape is an elm::Error naming the file and key.
Qwen3Config load_qwen3_config(const std::string& file_or_dir);
Qwen3Config parse_qwen3_config(const std::string& json_text, const std::string& origin);
std::string qwen3_config_to_json(const Qwen3Config& config);

}  // namespace elm::model
