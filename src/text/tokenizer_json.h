#pragma once
// Streaming (SAX) reader for HuggingFace tokenizer.json. The two big tables (model.vocab, about
// 150k entries, and model.merges) are captured straight into vectors; everything else becomes a
// small nlohmann::json tree. About 3x faster than building the whole DOM.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace elm::text::detail {

struct TokenizerJson {
  nlohmann::json root;  // the file without model.vocab and model.merges
  bool has_vocab = false;
  bool has_merges = false;
  std::vector<std::pair<std::string, std::int64_t>> vocab;   // model.vocab in file order
  std::vector<std::pair<std::string, std::string>> merges;   // model.merges, either format
};

// Throws elm::Error naming `file` when it cannot be read, is not JSON, or model.vocab / model.merges
// have the wrong shape.
TokenizerJson read_tokenizer_json(const std::string& file);

}  // namespace elm::text::detail
