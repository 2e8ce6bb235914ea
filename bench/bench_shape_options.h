#pragma once
// The Qwen3 shape options every benchmark accepts (--hidden --intermediate --layers --heads
// --kv-heads --head-dim --vocab), parsed in one place.
#include <string>

#include "core/parse.h"
#include "model/qwen3_config.h"

namespace elm::bench {

// Applies `key value` to the shape and returns true when key is a shape option.
inline bool apply_shape_option(const std::string& key, const std::string& value, model::Qwen3Config& c) {
  if (key == "--hidden") c.hidden_size = parse_int(value, key);
  else if (key == "--intermediate") c.intermediate_size = parse_int(value, key);
  else if (key == "--layers") c.num_hidden_layers = parse_int(value, key);
  else if (key == "--heads") c.num_attention_heads = parse_int(value, key);
  else if (key == "--kv-heads") c.num_key_value_heads = parse_int(value, key);
  else if (key == "--head-dim") c.head_dim = parse_int(value, key);
  else if (key == "--vocab") c.vocab_size = parse_int(value, key);
  else return false;
  return true;
}

}  // namespace elm::bench
