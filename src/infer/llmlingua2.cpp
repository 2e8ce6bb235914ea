#include "infer/llmlingua2.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "core/error.h"

namespace elm::infer {
namespace {

const std::string kMetaspace = "\xE2\x96\x81";  // U+2581 "▁"

std::vector<std::string> new_tokens(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("[NEW" + std::to_string(i) + "]");
  return out;
}

std::string strip_metaspace(std::string s) {
  std::size_t pos = 0;
  while (s.compare(pos, kMetaspace.size(), kMetaspace) == 0) pos += kMetaspace.size();
  return s.substr(pos);
}

}  // namespace

LlmLingua2Options LlmLingua2Options::from_config(const elm::Config& config) {
  LlmLingua2Options o;
  o.model_path = config.get_string("extractor.model_path");
  o.rate = config.get_float("extractor.rate");
  o.force_tokens = config.get_string_list("extractor.force_tokens");
  o.chunk_end_tokens = config.get_string_list("extractor.chunk_end_tokens");
  o.drop_consecutive = config.get_bool("extractor.drop_consecutive");
  o.max_batch_size = config.get_int("extractor.max_batch_size");
  return o;
}

void LlmLingua2Options::validate() const {
  ELM_CHECK(!model_path.empty(),
            "extractor.model_path is empty: extractor.kind = llmlingua2 needs a token-classification model "
            "directory (config.json, model.safetensors, tokenizer; see docs/extractor.md); without one, choose "
            "extractor.kind=passthrough (--extractor passthrough: sentences split, nothing compressed)");
  // int(100 * (1 - rate) + 1) must stay a valid percentile (<= 100), and rate 1 would keep everything.
  ELM_CHECK(rate >= 0.01 && rate < 1, "extractor.rate must be in [0.01, 1), got ", rate);
  ELM_CHECK(static_cast<int>(force_tokens.size()) <= LlmLingua2Compressor::kMaxForceTokens, "extractor.force_tokens: ",
            force_tokens.size(), " tokens, at most ", LlmLingua2Compressor::kMaxForceTokens, " ([NEW0]..[NEW99])");
  for (const auto& t : force_tokens) ELM_CHECK(!t.empty(), "extractor.force_tokens: empty token");
  for (const auto& t : chunk_end_tokens) ELM_CHECK(!t.empty(), "extractor.chunk_end_tokens: empty token");
  ELM_CHECK(max_batch_size >= 1, "extractor.max_batch_size must be >= 1, got ", max_batch_size);
}

LlmLingua2Compressor::LlmLingua2Compressor(LlmLingua2Options options) : options_(std::move(options)) {
  options_.validate();
  std::error_code ec;
  ELM_CHECK(std::filesystem::is_directory(options_.model_path, ec), "extractor.model_path: model directory ",
            options_.model_path, " does not exist");
  auto model = std::make_shared<model::TokenClassifier>(model::TokenClassifier::load(options_.model_path));
  tokenizer_ = text::load_subword_tokenizer(options_.model_path, model->config().model_type, new_tokens(kMaxForceTokens));
  model_ = std::move(model);
  setup();
}

LlmLingua2Compressor::LlmLingua2Compressor(LlmLingua2Options options,
                                           std::shared_ptr<const model::TokenClassifier> model,
                                           std::shared_ptr<const text::SubwordTokenizer> tokenizer)
    : options_(std::move(options)), model_(std::move(model)), tokenizer_(std::move(tokenizer)) {
  ELM_CHECK(model_ && tokenizer_, "LlmLingua2Compressor: model and tokenizer are required");
  if (options_.model_path.empty()) options_.model_path = model_->origin();
  options_.validate();
  setup();
}

void LlmLingua2Compressor::setup() {
  const auto& config = model_->config();
  ELM_CHECK(tokenizer_->vocab_size() <= config.vocab_size, tokenizer_->path(), ": the tokenizer has ",
            tokenizer_->vocab_size(), " tokens ([NEW0].. included) but the word embedding of ", model_->origin(),
            " has ", config.vocab_size, " rows");
  ELM_CHECK(config.max_tokens() >= kMaxSeqLen, model_->origin(), ": max_position_embeddings ",
            config.max_position_embeddings, " holds ", config.max_tokens(), " tokens; LLMLingua-2 needs ", kMaxSeqLen);
  rule_ = config.is_xlm_roberta() ? llmlingua2::WordRule::kSentencePiece : llmlingua2::WordRule::kWordPiece;
  force_.tokens = options_.force_tokens;
  for (std::size_t i = 0; i < options_.force_tokens.size(); ++i) {
    const std::string& t = options_.force_tokens[i];
    if (tokenizer_->tokenize(t).size() == 1) continue;
    const std::string added = "[NEW" + std::to_string(i) + "]";
    ELM_CHECK(tokenizer_->find(added).has_value(), tokenizer_->path(), ": force token ", i,
              " needs the added token ", added, ", which the tokenizer lacks");
    force_.token_map.emplace_back(t, added);
  }
  chunk_end_ = options_.chunk_end_tokens;
  for (const auto& c : options_.chunk_end_tokens) {
    for (const auto& [original, added] : force_.token_map) {
      if (original == c) chunk_end_.push_back(added);
    }
  }
  // The reference builds every chunk with BERT's strings, whatever the model.
  cls_id_ = tokenizer_->token_to_id("[CLS]");
  sep_id_ = tokenizer_->token_to_id("[SEP]");
}

std::vector<std::string> LlmLingua2Compressor::chunk_text(const std::string& rewritten, int64_t* count) const {
  const auto pieces = tokenizer_->tokenize(rewritten);
  std::vector<std::string> tokens;
  tokens.reserve(pieces.size());
  for (const auto& p : pieces) tokens.push_back(p.token);
  if (count != nullptr) *count = static_cast<int64_t>(tokens.size());
  std::vector<std::string> chunks;
  for (const auto& [begin, end] : llmlingua2::chunk_ranges(tokens, chunk_end_, kMaxSeqLen - 2)) {
    chunks.push_back(tokenizer_->tokens_to_string(
        std::vector<std::string>(tokens.begin() + static_cast<std::ptrdiff_t>(begin),
                                 tokens.begin() + static_cast<std::ptrdiff_t>(end))));
  }
  return chunks;
}

std::vector<std::int32_t> LlmLingua2Compressor::chunk_ids(const std::string& chunk) const {
  std::vector<std::int32_t> ids{cls_id_};
  for (const auto& p : tokenizer_->tokenize(chunk)) ids.push_back(p.id);
  ids.push_back(sep_id_);
  if (ids.size() > static_cast<std::size_t>(kMaxSeqLen)) ids.resize(kMaxSeqLen);  // TokenClfDataset truncates
  return ids;
}

Compression LlmLingua2Compressor::compress(const std::string& text) const {
  const auto start = std::chrono::steady_clock::now();
  c10::InferenceMode inference;
  Compression out;
  const std::vector<std::string> chunks = chunk_text(force_.rewrite(text), &out.input_tokens);
  out.chunks = static_cast<int64_t>(chunks.size());
  const double reduce_rate = std::max(0.0, 1.0 - options_.rate);
  const auto is_special = [this](const std::string& t) { return tokenizer_->is_special_token(t); };
  const int64_t pad = model_->config().pad_token_id;

  for (std::size_t first = 0; first < chunks.size(); first += static_cast<std::size_t>(options_.max_batch_size)) {
    const std::size_t last = std::min(chunks.size(), first + static_cast<std::size_t>(options_.max_batch_size));
    std::vector<std::vector<std::int32_t>> batch;
    std::size_t width = 0;
    for (std::size_t c = first; c < last; ++c) {
      batch.push_back(chunk_ids(chunks[c]));
      width = std::max(width, batch.back().size());
    }
    const auto rows = static_cast<int64_t>(batch.size());
    auto ids = torch::full({rows, static_cast<int64_t>(width)}, pad, torch::kInt64);
    auto mask = torch::zeros({rows, static_cast<int64_t>(width)}, torch::kInt64);
    auto ids_a = ids.accessor<int64_t, 2>();
    auto mask_a = mask.accessor<int64_t, 2>();
    for (int64_t b = 0; b < rows; ++b) {
      const auto& row = batch[static_cast<std::size_t>(b)];
      for (std::size_t j = 0; j < row.size(); ++j) {
        ids_a[b][static_cast<int64_t>(j)] = row[j];
        mask_a[b][static_cast<int64_t>(j)] = 1;
      }
    }
    const torch::Tensor keep_probs = torch::softmax(model_->forward(ids, mask), -1).select(-1, 1).contiguous();
    const auto probs_a = keep_probs.accessor<float, 2>();

    for (int64_t b = 0; b < rows; ++b) {
      const auto& row = batch[static_cast<std::size_t>(b)];
      std::vector<std::string> tokens;
      std::vector<float> probs;
      for (std::size_t j = 0; j < row.size(); ++j) {
        tokens.push_back(tokenizer_->id_to_token(row[j]));
        probs.push_back(probs_a[b][static_cast<int64_t>(j)]);
      }
      const auto words = llmlingua2::merge_tokens_to_words(tokens, probs, rule_, force_, is_special);
      // tiktoken's cl100k count is not available offline: each word weighs its classifier pieces.
      std::vector<int64_t> counts;
      for (const auto& w : words) counts.push_back(w.tokens);
      const auto labels = llmlingua2::label_words(words, counts, reduce_rate, options_.drop_consecutive, force_);
      out.text += tokenizer_->tokens_to_string(labels.kept_words);
      out.thresholds.push_back(labels.threshold);
      for (std::size_t i = 0; i < words.size(); ++i) {
        CompressedWord w;
        w.text = rule_ == llmlingua2::WordRule::kSentencePiece ? strip_metaspace(words[i].text) : words[i].text;
        w.prob = labels.probs[i];
        w.keep = labels.keep[i];
        w.force = words[i].forced;
        out.words.push_back(std::move(w));
      }
    }
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace elm::infer
