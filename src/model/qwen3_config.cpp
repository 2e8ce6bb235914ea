#include "model/qwen3_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace elm::model {
namespace {

using nlohmann::json;

int64_t get_int(const json& j, const char* key, int64_t fallback, const std::string& origin) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  ELM_CHECK(it->is_number_integer(), origin, ": key '", key, "' must be an integer, got ", it->dump());
  return it->get<int64_t>();
}

double get_float(const json& j, const char* key, double fallback, const std::string& origin) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  ELM_CHECK(it->is_number(), origin, ": key '", key, "' must be a number, got ", it->dump());
  return it->get<double>();
}

bool get_bool(const json& j, const char* key, bool fallback, const std::string& origin) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  ELM_CHECK(it->is_boolean(), origin, ": key '", key, "' must be true or false, got ", it->dump());
  return it->get<bool>();
}

}  // namespace

void Qwen3Config::validate(const std::string& origin) const {
  auto positive = [&](int64_t v, const char* key) {
    ELM_CHECK(v > 0, origin, ": '", key, "' must be positive, got ", v);
  };
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden_size");
  positive(intermediate_size, "intermediate_size");
  positive(num_hidden_layers, "num_hidden_layers");
  positive(num_attention_heads, "num_attention_heads");
  positive(num_key_value_heads, "num_key_value_heads");
  positive(head_dim, "head_dim");
  positive(max_position_embeddings, "max_position_embeddings");
  ELM_CHECK(head_dim % 2 == 0, origin, ": 'head_dim' must be even for rotary embeddings, got ", head_dim);
  ELM_CHECK(num_attention_heads % num_key_value_heads == 0, origin, ": 'num_attention_heads' (",
            num_attention_heads, ") must be a multiple of 'num_key_value_heads' (", num_key_value_heads, ")");
  ELM_CHECK(rope_theta > 0, origin, ": 'rope_theta' must be positive, got ", rope_theta);
  ELM_CHECK(rms_norm_eps > 0, origin, ": 'rms_norm_eps' must be positive, got ", rms_norm_eps);
}

Qwen3Config parse_qwen3_config(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    fail(origin, ": invalid JSON: ", e.what());
  }
  ELM_CHECK(j.is_object(), origin, ": expected a JSON object");
  if (auto it = j.find("model_type"); it != j.end() && it->is_string()) {
    auto type = it->get<std::string>();
    ELM_CHECK(type == "qwen3", origin, ": model_type is '", type, "', only 'qwen3' is supported");
  }
  ELM_CHECK(!get_bool(j, "use_sliding_window", false, origin), origin,
            ": use_sliding_window=true is not supported (Qwen3 dense models do not use it)");
  ELM_CHECK(!get_bool(j, "attention_bias", false, origin), origin, ": attention_bias=true is not supported");
  if (auto it = j.find("hidden_act"); it != j.end() && it->is_string()) {
    ELM_CHECK(it->get<std::string>() == "silu", origin, ": hidden_act '", it->get<std::string>(),
              "' is not supported (Qwen3 uses silu)");
  }
  if (auto it = j.find("rope_scaling"); it != j.end() && !it->is_null()) {
    fail(origin, ": rope_scaling is not supported, got ", it->dump());
  }

  Qwen3Config c;
  c.vocab_size = get_int(j, "vocab_size", c.vocab_size, origin);
  c.hidden_size = get_int(j, "hidden_size", c.hidden_size, origin);
  c.intermediate_size = get_int(j, "intermediate_size", c.intermediate_size, origin);
  c.num_hidden_layers = get_int(j, "num_hidden_layers", c.num_hidden_layers, origin);
  c.num_attention_heads = get_int(j, "num_attention_heads", c.num_attention_heads, origin);
  c.num_key_value_heads = get_int(j, "num_key_value_heads", c.num_attention_heads, origin);
  ELM_CHECK(c.num_attention_heads > 0, origin, ": 'num_attention_heads' must be positive");
  c.head_dim = get_int(j, "head_dim", c.hidden_size / c.num_attention_heads, origin);
  c.max_position_embeddings = get_int(j, "max_position_embeddings", c.max_position_embeddings, origin);
  c.rope_theta = get_float(j, "rope_theta", c.rope_theta, origin);
  c.rms_norm_eps = get_float(j, "rms_norm_eps", c.rms_norm_eps, origin);
  c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", c.tie_word_embeddings, origin);
  c.bos_token_id = get_int(j, "bos_token_id", c.bos_token_id, origin);
  if (auto it = j.find("eos_token_id"); it != j.end() && it->is_array() && !it->empty()) {
    ELM_CHECK((*it)[0].is_number_integer(), origin, ": key 'eos_token_id' must hold integers, got ", it->dump());
    c.eos_token_id = (*it)[0].get<int64_t>();  // HF allows a list; the first is the chat end token
  } else {
    c.eos_token_id = get_int(j, "eos_token_id", c.eos_token_id, origin);
  }
  if (auto it = j.find("torch_dtype"); it != j.end() && it->is_string()) c.torch_dtype = it->get<std::string>();
  c.validate(origin);
  return c;
}

Qwen3Config load_qwen3_config(const std::string& file_or_dir) {
  std::filesystem::path path(file_or_dir);
  if (std::filesystem::is_directory(path)) path /= "config.json";
  std::ifstream in(path, std::ios::binary);
  ELM_CHECK(in.good(), "cannot open model config ", path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_qwen3_config(buffer.str(), path.string());
}

std::string qwen3_config_to_json(const Qwen3Config& c) {
  json j = {
      {"architectures", {"Qwen3ForCausalLM"}},
      {"model_type", "qwen3"},
      {"vocab_size", c.vocab_size},
      {"hidden_size", c.hidden_size},
      {"intermediate_size", c.intermediate_size},
      {"num_hidden_layers", c.num_hidden_layers},
      {"num_attention_heads", c.num_attention_heads},
      {"num_key_value_heads", c.num_key_value_heads},
      {"head_dim", c.head_dim},
      {"max_position_embeddings", c.max_position_embeddings},
      {"rope_theta", c.rope_theta},
      {"rms_norm_eps", c.rms_norm_eps},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"bos_token_id", c.bos_token_id},
      {"eos_token_id", c.eos_token_id},
      {"torch_dtype", c.torch_dtype},
      {"hidden_act", "silu"},
      {"attention_bias", false},
      {"attention_dropout", 0.0},
      {"use_sliding_window", false},
      {"sliding_window", nullptr},
      {"rope_scaling", nullptr},
      {"use_cache", true},
  };
  return j.dump(2) + "\n";
}

}  // namespace elm::model
