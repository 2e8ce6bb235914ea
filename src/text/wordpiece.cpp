#include "text/wordpiece.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "text/tokenizer_json.h"
#include "text/unicode.h"

namespace elm::text {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Ids index a dense table; a larger id in a file is an error rather than a huge allocation.
constexpr std::int64_t kMaxId = 1 << 24;

std::string type_of(const json& j) {
  if (!j.is_object()) return "";
  auto it = j.find("type");
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// A boolean option with a default; `null` means the default (HF's strip_accents: null).
bool bool_or(const json& obj, const char* key, bool fallback, const std::string& origin) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  ELM_CHECK(it->is_boolean(), origin, ": ", key, " must be true, false or null");
  return it->get<bool>();
}

WordPieceSpec spec_from_tokenizer_json(const std::string& file) {
  const detail::TokenizerJson parsed = detail::read_tokenizer_json(file);
  const json& root = parsed.root;
  const std::string origin = "tokenizer " + file;
  ELM_CHECK(root.is_object(), origin, ": top level is not a JSON object");
  auto mit = root.find("model");
  ELM_CHECK(mit != root.end() && mit->is_object(), origin, ": missing \"model\"");
  const json& model = *mit;
  ELM_CHECK(type_of(model) == "WordPiece", origin, ": model.type is \"", type_of(model),
            "\"; a BERT classifier needs a WordPiece tokenizer");
  ELM_CHECK(parsed.has_vocab, origin, ": model.vocab must be an object");

  WordPieceSpec spec;
  spec.unk_token = model.value("unk_token", std::string("[UNK]"));
  spec.continuing_subword_prefix = model.value("continuing_subword_prefix", std::string("##"));
  spec.max_input_chars_per_word = model.value("max_input_chars_per_word", 100);
  ELM_CHECK(spec.max_input_chars_per_word > 0, origin, ": model.max_input_chars_per_word must be > 0");
  for (const auto& [token, id] : parsed.vocab) {
    ELM_CHECK(id >= 0 && id <= kMaxId, origin, ": model.vocab[\"", token, "\"] = ", id, " is not a valid id");
    spec.vocab.emplace_back(token, static_cast<std::int32_t>(id));
  }

  auto nit = root.find("normalizer");
  if (nit != root.end() && !nit->is_null()) {
    ELM_CHECK(type_of(*nit) == "BertNormalizer", origin, ": unsupported normalizer ", nit->dump().substr(0, 200),
              " (only BertNormalizer)");
    // HF's defaults: lowercase true, strip_accents null = follow lowercase.
    const bool lowercase = bool_or(*nit, "lowercase", true, origin + " normalizer");
    const bool strip_accents = bool_or(*nit, "strip_accents", lowercase, origin + " normalizer");
    ELM_CHECK(!lowercase && !strip_accents, origin,
              ": normalizer lowercases or strips accents (an uncased model); only cased BERT "
              "(lowercase: false, strip_accents: null/false) is supported");
    spec.normalizer.clean_text = bool_or(*nit, "clean_text", true, origin + " normalizer");
    spec.normalizer.handle_chinese_chars = bool_or(*nit, "handle_chinese_chars", true, origin + " normalizer");
  } else {
    spec.normalizer.clean_text = false;
    spec.normalizer.handle_chinese_chars = false;
  }
  auto pit = root.find("pre_tokenizer");
  ELM_CHECK(pit != root.end() && type_of(*pit) == "BertPreTokenizer", origin,
            ": unsupported pre_tokenizer (only BertPreTokenizer): ",
            pit == root.end() ? std::string("missing") : pit->dump().substr(0, 200));
  auto dit = root.find("decoder");
  if (dit != root.end() && !dit->is_null()) {
    ELM_CHECK(type_of(*dit) == "WordPiece", origin, ": unsupported decoder (only WordPiece)");
    ELM_CHECK(dit->value("prefix", spec.continuing_subword_prefix) == spec.continuing_subword_prefix, origin,
              ": decoder.prefix differs from model.continuing_subword_prefix");
    spec.decoder_cleanup = bool_or(*dit, "cleanup", true, origin + " decoder");
  }

  auto ait = root.find("added_tokens");
  if (ait != root.end() && !ait->is_null()) {
    ELM_CHECK(ait->is_array(), origin, ": added_tokens must be an array");
    for (const json& t : *ait) {
      ELM_CHECK(t.is_object() && t.contains("id") && t["id"].is_number_integer() && t.contains("content") &&
                    t["content"].is_string(),
                origin, ": malformed added token ", t.dump());
      const auto id = t["id"].get<std::int64_t>();
      ELM_CHECK(id >= 0 && id <= kMaxId, origin, ": added token id out of range: ", t.dump());
      spec.added.push_back({t["content"].get<std::string>(), static_cast<std::int32_t>(id),
                            t.value("special", false)});
    }
  }
  return spec;
}

// vocab.txt: one token per line, the id is the line number (as HF's BertTokenizer reads it).
WordPieceSpec spec_from_vocab_txt(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  ELM_CHECK(in, "tokenizer ", file, ": cannot open file");
  WordPieceSpec spec;
  std::string line;
  std::int32_t id = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    require_valid_utf8(line, "tokenizer " + file + " line " + std::to_string(id + 1));
    spec.vocab.emplace_back(line, id++);
  }
  ELM_CHECK(id > 0, "tokenizer ", file, ": empty vocabulary");
  // The slow BertTokenizer never splits its special tokens: they behave as added tokens.
  for (const char* name : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
    for (const auto& [token, tid] : spec.vocab) {
      if (token == name) {
        spec.added.push_back({token, tid, true});
        break;
      }
    }
  }
  const fs::path added_json = fs::path(file).parent_path() / "added_tokens.json";
  std::error_code ec;
  if (fs::is_regular_file(added_json, ec)) {
    std::ifstream ain(added_json);
    json j;
    try {
      j = json::parse(ain);
    } catch (const json::exception& e) {
      fail("tokenizer ", added_json.string(), ": malformed JSON: ", e.what());
    }
    ELM_CHECK(j.is_object(), "tokenizer ", added_json.string(), ": must be an object {\"token\": id}");
    for (const auto& [content, v] : j.items()) {
      ELM_CHECK(v.is_number_integer() && v.get<std::int64_t>() >= 0 && v.get<std::int64_t>() <= kMaxId,
                "tokenizer ", added_json.string(), ": \"", content, "\" has no valid id");
      spec.added.push_back({content, static_cast<std::int32_t>(v.get<std::int64_t>()), true});
    }
  }
  return spec;
}

}  // namespace

std::unique_ptr<WordPieceTokenizer> WordPieceTokenizer::load(const std::string& path,
                                                             const std::vector<std::string>& extra_special_tokens) {
  std::error_code ec;
  std::string file = path;
  if (fs::is_directory(path, ec)) {
    const fs::path dir(path);
    if (fs::is_regular_file(dir / "tokenizer.json", ec)) {
      file = (dir / "tokenizer.json").string();
    } else if (fs::is_regular_file(dir / "vocab.txt", ec)) {
      file = (dir / "vocab.txt").string();
    } else {
      fail("tokenizer: ", path, " holds neither tokenizer.json nor vocab.txt");
    }
  }
  ELM_CHECK(fs::is_regular_file(file, ec), "tokenizer ", file, ": file not found");
  const bool txt = fs::path(file).extension() == ".txt";
  WordPieceSpec spec = txt ? spec_from_vocab_txt(file) : spec_from_tokenizer_json(file);
  return from_spec(std::move(spec), file, extra_special_tokens);
}

std::unique_ptr<WordPieceTokenizer> WordPieceTokenizer::from_spec(WordPieceSpec spec, const std::string& origin,
                                                                  const std::vector<std::string>& extra_special_tokens) {
  std::unique_ptr<WordPieceTokenizer> t(new WordPieceTokenizer());
  t->path_ = origin;
  ELM_CHECK(spec.max_input_chars_per_word > 0, "tokenizer ", origin, ": max_input_chars_per_word must be > 0");
  ELM_CHECK(!spec.continuing_subword_prefix.empty(), "tokenizer ", origin, ": empty continuing_subword_prefix");
  auto put = [&](const std::string& token, std::int32_t id, const char* what) {
    ELM_CHECK(id >= 0 && id <= kMaxId, "tokenizer ", origin, ": ", what, " \"", token, "\" has id ", id,
              " outside [0, ", kMaxId, "]");
    if (t->tokens_.size() <= static_cast<std::size_t>(id)) t->tokens_.resize(static_cast<std::size_t>(id) + 1);
    std::string& slot = t->tokens_[static_cast<std::size_t>(id)];
    ELM_CHECK(slot.empty() || slot == token, "tokenizer ", origin, ": id ", id, " is both \"", slot, "\" and \"",
              token, "\"");
    slot = token;
  };
  for (const auto& [token, id] : spec.vocab) {
    ELM_CHECK(!token.empty(), "tokenizer ", origin, ": empty token at id ", id);
    ELM_CHECK(t->vocab_.emplace(token, id).second, "tokenizer ", origin, ": token \"", token, "\" appears twice");
    put(token, id, "token");
  }
  for (const auto& a : spec.added) {
    ELM_CHECK(!a.content.empty(), "tokenizer ", origin, ": empty added token at id ", a.id);
    put(a.content, a.id, "added token");
    if (t->added_.emplace(a.content, a.id).second) t->matcher_.add(a.content, a.id);
  }
  // HF add_special_tokens: a token the files lack gets the next id; one they have keeps its id and
  // is matched literally from then on.
  for (const auto& extra : extra_special_tokens) {
    if (t->added_.count(extra)) continue;
    auto v = t->vocab_.find(extra);
    const std::int32_t id = v != t->vocab_.end() ? v->second : static_cast<std::int32_t>(t->tokens_.size());
    put(extra, id, "special token");
    t->added_.emplace(extra, id);
    t->matcher_.add(extra, id);
    spec.added.push_back({extra, id, true});
  }
  auto unk = t->vocab_.find(spec.unk_token);
  if (unk == t->vocab_.end()) {
    auto a = t->added_.find(spec.unk_token);
    ELM_CHECK(a != t->added_.end(), "tokenizer ", origin, ": unk token \"", spec.unk_token, "\" is not in the vocab");
    t->unk_id_ = a->second;
  } else {
    t->unk_id_ = unk->second;
  }
  t->special_ = {spec.unk_token, "[SEP]", "[PAD]", "[CLS]", "[MASK]"};
  t->spec_ = std::move(spec);
  return t;
}

void WordPieceTokenizer::tokenize_word(std::string_view word, std::vector<Piece>& out) const {
  // Character boundaries: WordPiece matches whole code points, and the length limit counts them.
  std::vector<std::size_t> bounds;
  for (std::size_t i = 0; i < word.size();) {
    bounds.push_back(i);
    decode_utf8(word, i);
  }
  const std::size_t nchars = bounds.size();
  bounds.push_back(word.size());
  if (nchars > static_cast<std::size_t>(spec_.max_input_chars_per_word)) {
    out.push_back({spec_.unk_token, unk_id_});
    return;
  }
  const std::size_t first = out.size();
  std::string candidate;
  for (std::size_t start = 0; start < nchars;) {
    bool found = false;
    for (std::size_t end = nchars; end > start; --end) {
      candidate.clear();
      if (start > 0) candidate = spec_.continuing_subword_prefix;
      candidate.append(word.substr(bounds[start], bounds[end] - bounds[start]));
      auto it = vocab_.find(candidate);
      if (it != vocab_.end()) {
        out.push_back({candidate, it->second});
        start = end;
        found = true;
        break;
      }
    }
    if (!found) {
      out.resize(first);  // one unsplittable part makes the whole word [UNK]
      out.push_back({spec_.unk_token, unk_id_});
      return;
    }
  }
}

std::vector<SubwordTokenizer::Piece> WordPieceTokenizer::tokenize(std::string_view text) const {
  require_valid_utf8(text);
  std::vector<AddedTokenMatcher::Segment> segments;
  matcher_.split(text, segments);
  std::vector<Piece> out;
  for (const auto& seg : segments) {
    if (seg.id >= 0) {
      out.push_back({std::string(seg.text), seg.id});
      continue;
    }
    for (const auto& word : bert_pre_tokenize(bert_normalize(seg.text, spec_.normalizer))) tokenize_word(word, out);
  }
  return out;
}

std::optional<std::int32_t> WordPieceTokenizer::find(std::string_view token) const {
  const std::string key(token);
  if (auto a = added_.find(key); a != added_.end()) return a->second;
  if (auto v = vocab_.find(key); v != vocab_.end()) return v->second;
  return std::nullopt;
}

const std::string& WordPieceTokenizer::id_to_token(std::int32_t id) const {
  ELM_CHECK(id >= 0 && id < vocab_size(), "token id ", id, " is outside [0, ", vocab_size(), ") of ", path_);
  return tokens_[static_cast<std::size_t>(id)];
}

std::string WordPieceTokenizer::tokens_to_string(const std::vector<std::string>& tokens) const {
  return wordpiece_decode(tokens, spec_.continuing_subword_prefix, spec_.decoder_cleanup);
}

std::string wordpiece_cleanup(std::string s) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."},   {" ?", "?"},     {" !", "!"},           {" ,", ","},    {" ' ", "'"},   {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
  };
  for (const auto& [from, to] : kRules) {
    const std::string_view f(from), r(to);
    std::string out;
    std::size_t pos = 0;
    for (std::size_t hit; (hit = s.find(f, pos)) != std::string::npos; pos = hit + f.size()) {
      out.append(s, pos, hit - pos);
      out.append(r);
    }
    if (pos == 0) continue;
    out.append(s, pos, std::string::npos);
    s = std::move(out);
  }
  return s;
}

std::string wordpiece_decode(const std::vector<std::string>& tokens, std::string_view prefix, bool cleanup) {
  std::string out;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    std::string token = tokens[i];
    if (i != 0) {
      if (token.compare(0, prefix.size(), prefix) == 0) {
        token.erase(0, prefix.size());
      } else {
        token.insert(token.begin(), ' ');
      }
    }
    out += cleanup ? wordpiece_cleanup(std::move(token)) : token;
  }
  return out;
}

std::string wordpiece_tokenizer_json(const WordPieceSpec& spec) {
  json added = json::array();
  for (const auto& a : spec.added) {
    added.push_back({{"id", a.id}, {"content", a.content}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", a.special}});
  }
  json vocab = json::object();
  for (const auto& [token, id] : spec.vocab) vocab[token] = id;
  auto id_of = [&](const std::string& name) -> json {
    for (const auto& [token, id] : spec.vocab) {
      if (token == name) return id;
    }
    return nullptr;
  };
  json root = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer",
       {{"type", "BertNormalizer"}, {"clean_text", spec.normalizer.clean_text},
        {"handle_chinese_chars", spec.normalizer.handle_chinese_chars}, {"strip_accents", nullptr},
        {"lowercase", false}}},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", json::array({{{"SpecialToken", {{"id", "[CLS]"}, {"type_id", 0}}}},
                                {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 0}}}}})},
        {"pair", json::array({{{"SpecialToken", {{"id", "[CLS]"}, {"type_id", 0}}}},
                              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                              {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 0}}}},
                              {{"Sequence", {{"id", "B"}, {"type_id", 1}}}},
                              {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 1}}}}})},
        {"special_tokens",
         {{"[CLS]", {{"id", "[CLS]"}, {"ids", json::array({id_of("[CLS]")})}, {"tokens", json::array({"[CLS]"})}}},
          {"[SEP]", {{"id", "[SEP]"}, {"ids", json::array({id_of("[SEP]")})}, {"tokens", json::array({"[SEP]"})}}}}}}},
      {"decoder", {{"type", "WordPiece"}, {"prefix", spec.continuing_subword_prefix}, {"cleanup", spec.decoder_cleanup}}},
      {"model",
       {{"type", "WordPiece"}, {"unk_token", spec.unk_token},
        {"continuing_subword_prefix", spec.continuing_subword_prefix},
        {"max_input_chars_per_word", spec.max_input_chars_per_word}, {"vocab", vocab}}},
  };
  return root.dump(2) + "\n";
}

}  // namespace elm::text
