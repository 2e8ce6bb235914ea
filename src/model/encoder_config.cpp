#include "model/encoder_config.h"

#include <filesystem>
#include <fstream>
#include <map>
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

std::string get_string(const json& j, const char* key, const std::string& fallback, const std::string& origin) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  ELM_CHECK(it->is_string(), origin, ": key '", key, "' must be a string, got ", it->dump());
  return it->get<std::string>();
}

}  // namespace

int64_t EncoderConfig::max_tokens() const {
  return is_xlm_roberta() ? max_position_embeddings - pad_token_id - 1 : max_position_embeddings;
}

void EncoderConfig::validate(const std::string& origin) const {
  auto positive = [&](int64_t v, const char* key) {
    ELM_CHECK(v > 0, origin, ": '", key, "' must be positive, got ", v);
  };
  ELM_CHECK(model_type == "bert" || model_type == "xlm-roberta", origin, ": model_type '", model_type,
            "' is not supported (bert or xlm-roberta)");
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden_size");
  positive(num_hidden_layers, "num_hidden_layers");
  positive(num_attention_heads, "num_attention_heads");
  positive(intermediate_size, "intermediate_size");
  positive(max_position_embeddings, "max_position_embeddings");
  positive(type_vocab_size, "type_vocab_size");
  ELM_CHECK(hidden_size % num_attention_heads == 0, origin, ": 'hidden_size' (", hidden_size,
            ") must be a multiple of 'num_attention_heads' (", num_attention_heads, ")");
  ELM_CHECK(layer_norm_eps > 0, origin, ": 'layer_norm_eps' must be positive, got ", layer_norm_eps);
  ELM_CHECK(pad_token_id >= 0 && pad_token_id < vocab_size, origin, ": 'pad_token_id' ", pad_token_id,
            " is outside [0, vocab_size)");
  ELM_CHECK(num_labels() >= 2, origin, ": a token classifier needs at least 2 labels (id2label), got ",
            num_labels());
  ELM_CHECK(max_tokens() >= 3, origin, ": 'max_position_embeddings' ", max_position_embeddings,
            " leaves no room for tokens");
}

EncoderConfig parse_encoder_config(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    fail(origin, ": invalid JSON: ", e.what());
  }
  ELM_CHECK(j.is_object(), origin, ": expected a JSON object");
  EncoderConfig c;
  c.model_type = get_string(j, "model_type", "", origin);
  ELM_CHECK(!c.model_type.empty(), origin, ": key 'model_type' is missing (bert or xlm-roberta)");
  ELM_CHECK(c.model_type == "bert" || c.model_type == "xlm-roberta", origin, ": model_type '", c.model_type,
            "' is not supported (bert or xlm-roberta)");
  const bool xlmr = c.is_xlm_roberta();
  // HF's class defaults (BertConfig / XLMRobertaConfig) for keys a file may omit.
  c.vocab_size = get_int(j, "vocab_size", 30522, origin);
  c.hidden_size = get_int(j, "hidden_size", 768, origin);
  c.num_hidden_layers = get_int(j, "num_hidden_layers", 12, origin);
  c.num_attention_heads = get_int(j, "num_attention_heads", 12, origin);
  c.intermediate_size = get_int(j, "intermediate_size", 3072, origin);
  c.max_position_embeddings = get_int(j, "max_position_embeddings", 512, origin);
  c.type_vocab_size = get_int(j, "type_vocab_size", 2, origin);
  c.layer_norm_eps = get_float(j, "layer_norm_eps", 1e-12, origin);
  c.pad_token_id = get_int(j, "pad_token_id", xlmr ? 1 : 0, origin);
  const std::string act = get_string(j, "hidden_act", "gelu", origin);
  ELM_CHECK(act == "gelu", origin, ": hidden_act '", act, "' is not supported (only gelu, the erf form)");
  const std::string pos = get_string(j, "position_embedding_type", "absolute", origin);
  ELM_CHECK(pos == "absolute", origin, ": position_embedding_type '", pos, "' is not supported (only absolute)");
  if (auto it = j.find("id2label"); it != j.end() && !it->is_null()) {
    ELM_CHECK(it->is_object() && !it->empty(), origin, ": key 'id2label' must be an object {\"0\": name, ...}");
    std::map<int64_t, std::string> by_id;
    for (const auto& [k, v] : it->items()) {
      int64_t id = -1;
      try {
        std::size_t used = 0;
        id = std::stoll(k, &used);
        if (used != k.size()) id = -1;
      } catch (const std::exception&) {
        id = -1;
      }
      ELM_CHECK(id >= 0 && v.is_string(), origin, ": id2label entry \"", k, "\": ", v.dump(), " is not id: name");
      by_id[id] = v.get<std::string>();
    }
    ELM_CHECK(by_id.rbegin()->first == static_cast<int64_t>(by_id.size()) - 1, origin,
              ": id2label ids must be 0..", by_id.size() - 1);
    c.labels.clear();
    for (const auto& [id, name] : by_id) c.labels.push_back(name);
  } else if (auto n = get_int(j, "num_labels", 2, origin); n != 2) {
    ELM_CHECK(n >= 2 && n <= 1024, origin, ": key 'num_labels' must be in [2, 1024], got ", n);
    c.labels.clear();
    for (int64_t i = 0; i < n; ++i) c.labels.push_back("LABEL_" + std::to_string(i));
  }
  c.validate(origin);
  return c;
}

EncoderConfig load_encoder_config(const std::string& file_or_dir) {
  std::filesystem::path path(file_or_dir);
  if (std::filesystem::is_directory(path)) path /= "config.json";
  std::ifstream in(path, std::ios::binary);
  ELM_CHECK(in.good(), "cannot open model config ", path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_encoder_config(buffer.str(), path.string());
}

std::string encoder_config_to_json(const EncoderConfig& c) {
  json id2label = json::object(), label2id = json::object();
  for (size_t i = 0; i < c.labels.size(); ++i) {
    id2label[std::to_string(i)] = c.labels[i];
    label2id[c.labels[i]] = i;
  }
  const bool xlmr = c.is_xlm_roberta();
  json j = {
      {"architectures", {xlmr ? "XLMRobertaForTokenClassification" : "BertForTokenClassification"}},
      {"model_type", c.model_type},
      {"vocab_size", c.vocab_size},
      {"hidden_size", c.hidden_size},
      {"num_hidden_layers", c.num_hidden_layers},
      {"num_attention_heads", c.num_attention_heads},
      {"intermediate_size", c.intermediate_size},
      {"hidden_act", "gelu"},
      {"hidden_dropout_prob", 0.1},
      {"attention_probs_dropout_prob", 0.1},
      {"max_position_embeddings", c.max_position_embeddings},
      {"type_vocab_size", c.type_vocab_size},
      {"layer_norm_eps", c.layer_norm_eps},
      {"initializer_range", 0.02},
      {"pad_token_id", c.pad_token_id},
      {"position_embedding_type", "absolute"},
      {"id2label", id2label},
      {"label2id", label2id},
      {"torch_dtype", "float32"},
  };
  if (xlmr) {
    j["bos_token_id"] = 0;
    j["eos_token_id"] = 2;
  }
  return j.dump(2) + "\n";
}

}  // namespace elm::model
