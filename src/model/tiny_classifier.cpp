#include "model/tiny_classifier.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "model/encoder_weights.h"
#include "text/sentencepiece_tokenizer.h"
#include "text/subword_tokenizer.h"
#include "text/tiny_tokenizers.h"
#include "text/wordpiece.h"

namespace elm::model {

namespace fs = std::filesystem;
using nlohmann::json;

EncoderConfig tiny_classifier_config(const TinyClassifierOptions& o) {
  ELM_CHECK(o.arch == "bert" || o.arch == "xlm-roberta", "tiny classifier: unknown arch '", o.arch,
            "' (bert or xlm-roberta)");
  EncoderConfig c;
  c.model_type = o.arch;
  c.hidden_size = o.hidden_size;
  c.num_hidden_layers = o.num_layers;
  c.num_attention_heads = o.num_heads;
  c.intermediate_size = o.intermediate_size;
  const bool xlmr = o.arch == "xlm-roberta";
  // The real checkpoints' position tables and norms: 512 tokens either way.
  c.max_position_embeddings = xlmr ? 514 : 512;
  c.type_vocab_size = xlmr ? 1 : 2;
  c.layer_norm_eps = xlmr ? 1e-5 : 1e-12;
  c.pad_token_id = xlmr ? 1 : 0;
  c.labels = {"LABEL_0", "LABEL_1"};
  return c;
}

namespace {

std::vector<std::string> new_tokens(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("[NEW" + std::to_string(i) + "]");
  return out;
}

// Tokenizer files for BERT; returns the vocabulary size (added tokens included).
int64_t write_bert_tokenizer(const fs::path& dir, const TinyClassifierOptions& o) {
  const text::WordPieceSpec spec = text::tiny_wordpiece_spec(o.num_new_tokens);
  write_file_atomic((dir / "tokenizer.json").string(), text::wordpiece_tokenizer_json(spec));
  std::string vocab_txt;
  for (const auto& [token, id] : spec.vocab) vocab_txt += token + "\n";
  write_file_atomic((dir / "vocab.txt").string(), vocab_txt);
  json added = json::object();
  for (const auto& a : spec.added) {
    if (a.content.rfind("[NEW", 0) == 0) added[a.content] = a.id;
  }
  write_file_atomic((dir / "added_tokens.json").string(), added.dump(2) + "\n");
  write_file_atomic((dir / "tokenizer_config.json").string(),
                    json({{"tokenizer_class", "BertTokenizer"}, {"do_lower_case", false},
                          {"tokenize_chinese_chars", true}, {"strip_accents", nullptr},
                          {"model_max_length", 512}, {"unk_token", "[UNK]"}, {"cls_token", "[CLS]"},
                          {"sep_token", "[SEP]"}, {"pad_token", "[PAD]"}, {"mask_token", "[MASK]"},
                          {"additional_special_tokens", new_tokens(o.num_new_tokens)}})
                            .dump(2) + "\n");
  return text::WordPieceTokenizer::from_spec(spec, (dir / "tokenizer.json").string())->vocab_size();
}

int64_t write_xlmr_tokenizer(const fs::path& dir, const TinyClassifierOptions& o) {
  const std::string model = text::train_tiny_sentencepiece(o.seed);
  const fs::path model_file = dir / "sentencepiece.bpe.model";
  write_file_atomic(model_file.string(), model);
  // Ids of the added tokens follow <mask>, as HF's add_special_tokens gives them.
  auto base = text::SentencePieceTokenizer::load(model_file.string());
  json added = json::object();
  for (int i = 0; i < o.num_new_tokens; ++i) added["[NEW" + std::to_string(i) + "]"] = base->vocab_size() + i;
  write_file_atomic((dir / "added_tokens.json").string(), added.dump(2) + "\n");
  write_file_atomic((dir / "tokenizer_config.json").string(),
                    json({{"tokenizer_class", "XLMRobertaTokenizer"}, {"model_max_length", 512},
                          {"bos_token", "<s>"}, {"eos_token", "</s>"}, {"unk_token", "<unk>"},
                          {"sep_token", "</s>"}, {"cls_token", "<s>"}, {"pad_token", "<pad>"},
                          {"mask_token", "<mask>"}, {"additional_special_tokens", new_tokens(o.num_new_tokens)}})
                            .dump(2) + "\n");
  return text::load_subword_tokenizer(dir.string(), "xlm-roberta")->vocab_size();
}

}  // namespace

std::string write_tiny_classifier(const std::string& out_dir, const TinyClassifierOptions& options) {
  EncoderConfig config = tiny_classifier_config(options);
  ELM_CHECK(options.num_new_tokens >= 0 && options.num_new_tokens <= 1000,
            "tiny classifier: num_new_tokens must be in [0, 1000]");
  ELM_CHECK(options.classifier_std > 0, "tiny classifier: classifier_std must be > 0");
  config.validate("tiny classifier options");  // shape errors before anything is written
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  ELM_CHECK(!ec, "cannot create model directory ", out_dir, ": ", ec.message());
  const fs::path dir(out_dir);
  fs::remove(dir / "config.json", ec);  // a half-rewritten directory must not look complete

  config.vocab_size = options.arch == "bert" ? write_bert_tokenizer(dir, options) : write_xlmr_tokenizer(dir, options);
  config.validate("tiny classifier options");
  const EncoderWeights weights = random_encoder_weights(config, options.seed, options.classifier_std);
  std::vector<io::TensorToWrite> tensors;
  const auto named = weights.named_tensors(config);
  std::vector<torch::Tensor> keep_alive;
  for (const auto& [name, tensor] : named) {
    keep_alive.push_back(tensor.to(torch::kFloat32).contiguous());
    const auto& t = keep_alive.back();
    tensors.push_back({name, io::DType::F32, std::vector<int64_t>(t.sizes().begin(), t.sizes().end()), t.data_ptr()});
  }
  const std::string weights_path = (dir / "model.safetensors").string();
  io::write_safetensors(weights_path, tensors, {{"format", "pt"}});
  write_file_atomic((dir / "config.json").string(), encoder_config_to_json(config));
  return weights_path;
}

}  // namespace elm::model
