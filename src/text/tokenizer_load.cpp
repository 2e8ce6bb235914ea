// Tokenizer::load: reads and validates a HuggingFace tokenizer.json.
#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/error.h"
#include "text/byte_level.h"
#include "text/pretokenizer.h"
#include "text/tokenizer.h"
#include "text/tokenizer_impl.h"
#include "text/tokenizer_json.h"

namespace elm::text {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Ids index dense tables; a larger id in a file is an error rather than a huge allocation.
constexpr std::int64_t kMaxId = 1 << 24;

std::string type_of(const json& j) {
  if (!j.is_object()) return "";
  auto it = j.find("type");
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

bool flag(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

bool is_empty_or_null(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() || (it->is_string() && it->get<std::string>().empty());
}

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void bad(const std::string& what) const { fail("tokenizer ", file_, ": ", what); }

  void check_normalizer(const json& root, detail::TokenizerImpl& impl) const {
    auto it = root.find("normalizer");
    if (it == root.end() || it->is_null()) {
      impl.nfc = false;
      return;
    }
    if (type_of(*it) != "NFC") bad("unsupported normalizer " + it->dump() + " (only NFC or null)");
    impl.nfc = true;
  }

  void check_pre_tokenizer(const json& root) const {
    auto it = root.find("pre_tokenizer");
    const json* split = nullptr;
    const json* byte_level = nullptr;
    if (it != root.end() && type_of(*it) == "Sequence" && it->contains("pretokenizers") &&
        (*it)["pretokenizers"].is_array() && (*it)["pretokenizers"].size() == 2) {
      split = &(*it)["pretokenizers"][0];
      byte_level = &(*it)["pretokenizers"][1];
    }
    const bool ok =
        split != nullptr && type_of(*split) == "Split" && split->contains("pattern") &&
        (*split)["pattern"].is_object() && (*split)["pattern"].contains("Regex") &&
        (*split)["pattern"]["Regex"] == std::string(kQwenSplitPattern) &&
        split->value("behavior", "") == "Isolated" && !flag(*split, "invert") &&
        type_of(*byte_level) == "ByteLevel" && !flag(*byte_level, "add_prefix_space") &&
        !flag(*byte_level, "use_regex");
    if (!ok) {
      bad("unsupported pre_tokenizer (only Sequence[Split(Qwen regex, Isolated), "
          "ByteLevel(add_prefix_space=false, use_regex=false)]): " +
          (it == root.end() ? std::string("missing") : it->dump().substr(0, 300)));
    }
  }

  void check_decoder(const json& root) const {
    auto it = root.find("decoder");
    if (it == root.end() || type_of(*it) != "ByteLevel") {
      bad("unsupported decoder (only ByteLevel)");
    }
  }

  static void put(detail::TokenizerImpl& impl, std::int32_t id, const std::string& text) {
    const auto need = static_cast<std::size_t>(id) + 1;
    if (impl.tokens.size() < need) {
      impl.tokens.resize(need);
      impl.bytes.resize(need);
      impl.has_token.resize(need, 0);
      impl.special.resize(need, 0);
    }
    const auto i = static_cast<std::size_t>(id);
    impl.tokens[i] = text;
    // HF's ByteLevel decoder: alphabet characters become their bytes; a token with any other
    // character contributes its UTF-8 text unchanged.
    impl.bytes[i] = byte_level_to_bytes(text).value_or(text);
    impl.has_token[i] = 1;
  }

  void load_model(const detail::TokenizerJson& file, detail::TokenizerImpl& impl) const {
    const json& root = file.root;
    auto mit = root.find("model");
    if (mit == root.end() || !mit->is_object()) bad("missing \"model\"");
    const json& model = *mit;
    const std::string type = type_of(model);
    if (type != "BPE") bad("unsupported model type \"" + type + "\" (only BPE)");
    if (!file.has_vocab) bad("model.vocab must be an object");
    if (!file.has_merges) bad("model.merges must be an array");
    if (flag(model, "byte_fallback")) bad("unsupported: model.byte_fallback");
    if (!model.value("dropout", json()).is_null()) bad("unsupported: model.dropout");
    if (!is_empty_or_null(model, "continuing_subword_prefix") ||
        !is_empty_or_null(model, "end_of_word_suffix")) {
      bad("unsupported: continuing_subword_prefix / end_of_word_suffix");
    }
    impl.ignore_merges = flag(model, "ignore_merges");

    impl.vocab.reserve(file.vocab.size());
    for (const auto& [token, id] : file.vocab) {
      if (id < 0 || id > kMaxId) bad("model.vocab[\"" + token + "\"] is not a valid id");
      impl.vocab[token] = static_cast<std::int32_t>(id);
      put(impl, static_cast<std::int32_t>(id), token);
    }

    std::vector<std::int32_t> byte_ids(256);
    for (int b = 0; b < 256; ++b) {
      const std::string t = bytes_to_byte_level(std::string(1, static_cast<char>(b)));
      auto it = impl.vocab.find(t);
      if (it == impl.vocab.end()) bad("model.vocab lacks the byte-level token for byte " + std::to_string(b));
      byte_ids[static_cast<std::size_t>(b)] = it->second;
    }
    impl.merges = std::make_unique<BpeMerges>(byte_ids);

    std::int32_t rank = 0;
    std::string joined;
    for (const auto& [left, right] : file.merges) {
      auto l = impl.vocab.find(left);
      auto r = impl.vocab.find(right);
      joined.assign(left).append(right);
      auto merged = impl.vocab.find(joined);
      if (l == impl.vocab.end() || r == impl.vocab.end() || merged == impl.vocab.end()) {
        bad("merge #" + std::to_string(rank) + " (" + left + ", " + right + ") uses a token not in the vocab");
      }
      impl.merges->add(l->second, r->second, rank, merged->second);
      ++rank;
    }
  }

  void load_added(const json& root, detail::TokenizerImpl& impl) const {
    auto it = root.find("added_tokens");
    if (it == root.end() || it->is_null()) return;
    if (!it->is_array()) bad("added_tokens must be an array");
    for (const json& t : *it) {
      if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() ||
          !t.contains("content") || !t["content"].is_string()) {
        bad("malformed added token " + t.dump());
      }
      const auto id = t["id"].get<std::int64_t>();
      if (id < 0 || id > kMaxId) bad("added token id out of range: " + t.dump());
      const std::string content = t["content"].get<std::string>();
      if (flag(t, "lstrip") || flag(t, "rstrip") || flag(t, "single_word") || flag(t, "normalized")) {
        bad("unsupported added token options (lstrip/rstrip/single_word/normalized): " + t.dump());
      }
      const auto id32 = static_cast<std::int32_t>(id);
      put(impl, id32, content);
      impl.special[static_cast<std::size_t>(id32)] = flag(t, "special") ? 1 : 0;
      impl.added[content] = id32;
      impl.matcher.add(content, id32);
    }
  }

 private:
  std::string file_;
};

}  // namespace

Tokenizer::Tokenizer(std::shared_ptr<detail::TokenizerImpl> impl) : impl_(std::move(impl)) {}

Tokenizer Tokenizer::load(const std::string& path) {
  std::string file = path;
  std::error_code ec;
  if (fs::is_directory(path, ec)) file = (fs::path(path) / "tokenizer.json").string();
  if (!fs::is_regular_file(file, ec)) fail("tokenizer ", file, ": file not found");
  Loader loader(file);
  const detail::TokenizerJson parsed = detail::read_tokenizer_json(file);
  const json& root = parsed.root;
  if (!root.is_object()) loader.bad("top level is not a JSON object");
  auto impl = std::make_shared<detail::TokenizerImpl>();
  impl->path = file;
  loader.check_normalizer(root, *impl);
  loader.check_pre_tokenizer(root);
  loader.check_decoder(root);
  loader.load_model(parsed, *impl);
  loader.load_added(root, *impl);
  return Tokenizer(std::move(impl));
}

}  // namespace elm::text
