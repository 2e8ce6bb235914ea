#include "text/subword_tokenizer.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "text/sentencepiece_tokenizer.h"
#include "text/wordpiece.h"

namespace elm::text {

bool SubwordTokenizer::is_special_token(std::string_view token) const {
  const auto& s = special_tokens();
  return std::find(s.begin(), s.end(), token) != s.end();
}

std::unique_ptr<SubwordTokenizer> load_subword_tokenizer(const std::string& model_dir, const std::string& model_type,
                                                         const std::vector<std::string>& extra_special_tokens) {
  namespace fs = std::filesystem;
  std::error_code ec;
  ELM_CHECK(fs::is_directory(model_dir, ec), "tokenizer: model directory ", model_dir, " does not exist");
  if (model_type == "bert") return WordPieceTokenizer::load(model_dir, extra_special_tokens);
  if (model_type == "xlm-roberta") {
    const fs::path model = fs::path(model_dir) / "sentencepiece.bpe.model";
    ELM_CHECK(fs::is_regular_file(model, ec), "tokenizer ", model.string(),
              ": file not found (an XLM-RoBERTa classifier needs its SentencePiece model)");
    return SentencePieceTokenizer::load(model.string(), read_xlmr_added_tokens(model_dir), extra_special_tokens);
  }
  fail("tokenizer: unsupported model_type \"", model_type, "\" in ", model_dir, " (bert or xlm-roberta)");
}

}  // namespace elm::text
