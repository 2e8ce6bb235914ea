#include "text/sentencepiece_tokenizer.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "text/tokenizer_json.h"
#include "text/unicode.h"

namespace elm::text {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::int32_t kMaxId = 1 << 24;
const char* const kFairseqTokens[] = {"<s>", "<pad>", "</s>", "<unk>"};
const std::string kMetaspace = "\xE2\x96\x81";  // U+2581 "▁"

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer() = default;
SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::load(
    const std::string& model_file, const std::vector<AddedToken>& added,
    const std::vector<std::string>& extra_special_tokens) {
  std::unique_ptr<SentencePieceTokenizer> t(new SentencePieceTokenizer());
  t->path_ = model_file;
  std::error_code ec;
  ELM_CHECK(fs::is_regular_file(model_file, ec), "tokenizer ", model_file, ": file not found");
  t->sp_ = SentencePieceModel::load(model_file);
  const int n = t->sp_->piece_size();
  ELM_CHECK(n > 3, "tokenizer ", model_file, ": SentencePiece model has only ", n, " pieces");
  ELM_CHECK(t->sp_->is_unknown(0), "tokenizer ", model_file,
            ": piece 0 is not <unk>; the fairseq mapping of XLM-R needs <unk> 0, <s> 1, </s> 2");

  // fairseq: the four specials first, then piece i (i >= 3) at i + 1, <mask> last.
  t->tokens_.assign(std::begin(kFairseqTokens), std::end(kFairseqTokens));
  t->tokens_.resize(static_cast<std::size_t>(n) + 1);
  for (int i = 3; i < n; ++i) t->tokens_[static_cast<std::size_t>(i) + 1] = t->sp_->id_to_piece(i);
  t->mask_id_ = static_cast<std::int32_t>(t->tokens_.size());
  t->tokens_.push_back("<mask>");
  for (std::int32_t i = 0; i < static_cast<std::int32_t>(t->tokens_.size()); ++i) {
    if (i < 4 || i == t->mask_id_) t->added_.emplace(t->tokens_[static_cast<std::size_t>(i)], i);
  }
  for (const auto& name : {"<s>", "</s>", "<pad>", "<mask>", "<unk>"}) {
    t->matcher_.add(name, t->added_.at(name));
  }

  auto add = [&](const std::string& content, std::int32_t id) {
    ELM_CHECK(!content.empty(), "tokenizer ", model_file, ": empty added token at id ", id);
    ELM_CHECK(id >= 0 && id <= kMaxId, "tokenizer ", model_file, ": added token \"", content, "\" has id ", id);
    if (auto it = t->added_.find(content); it != t->added_.end()) {
      ELM_CHECK(it->second == id, "tokenizer ", model_file, ": added token \"", content, "\" has id ", id,
                " but the vocabulary has it at ", it->second);
      return;
    }
    ELM_CHECK(id > t->mask_id_, "tokenizer ", model_file, ": added token \"", content, "\" at id ", id,
              " collides with the SentencePiece vocabulary (ids 0..", t->mask_id_, ")");
    if (t->tokens_.size() <= static_cast<std::size_t>(id)) t->tokens_.resize(static_cast<std::size_t>(id) + 1);
    std::string& slot = t->tokens_[static_cast<std::size_t>(id)];
    ELM_CHECK(slot.empty(), "tokenizer ", model_file, ": id ", id, " is both \"", slot, "\" and \"", content, "\"");
    slot = content;
    t->added_.emplace(content, id);
    t->matcher_.add(content, id);
  };
  for (const auto& a : added) add(a.content, a.id);
  for (const auto& extra : extra_special_tokens) {
    if (!t->added_.count(extra)) add(extra, static_cast<std::int32_t>(t->tokens_.size()));
  }
  t->special_ = {"<s>", "</s>", "<unk>", "<pad>", "<mask>"};  // bos/cls, eos/sep, unk, pad, mask
  return t;
}

int SentencePieceTokenizer::piece_count() const { return sp_->piece_size(); }

std::int32_t SentencePieceTokenizer::hf_id_of_piece(int spm_id) const {
  if (spm_id <= 0 || spm_id >= sp_->piece_size()) return kUnk;
  if (spm_id == 1) return kBos;  // <s>, </s>: fairseq's own ids
  if (spm_id == 2) return kEos;
  return static_cast<std::int32_t>(spm_id) + 1;
}

std::vector<SubwordTokenizer::Piece> SentencePieceTokenizer::tokenize(std::string_view text) const {
  require_valid_utf8(text);
  std::vector<AddedTokenMatcher::Segment> segments;
  matcher_.split(text, segments);
  std::vector<Piece> out;
  for (const auto& seg : segments) {
    if (seg.id >= 0) {
      out.push_back({std::string(seg.text), seg.id});
      continue;
    }
    // HF's slow tokenizer: the piece strings, then convert_tokens_to_ids (unknown text -> <unk>).
    for (auto& [piece, spm_id] : sp_->encode(seg.text)) out.push_back({std::move(piece), hf_id_of_piece(spm_id)});
  }
  return out;
}

std::optional<std::int32_t> SentencePieceTokenizer::find(std::string_view token) const {
  const std::string key(token);
  if (auto a = added_.find(key); a != added_.end()) return a->second;
  const int spm_id = sp_->piece_to_id(key);
  if (spm_id <= 0 || sp_->is_control(spm_id)) return std::nullopt;
  return hf_id_of_piece(spm_id);
}

const std::string& SentencePieceTokenizer::id_to_token(std::int32_t id) const {
  ELM_CHECK(id >= 0 && id < vocab_size(), "token id ", id, " is outside [0, ", vocab_size(), ") of ", path_);
  return tokens_[static_cast<std::size_t>(id)];
}

std::string SentencePieceTokenizer::tokens_to_string(const std::vector<std::string>& tokens) const {
  return metaspace_decode(tokens);
}

std::string metaspace_decode(const std::vector<std::string>& tokens) {
  std::string out;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    for (std::size_t pos = 0; pos < t.size();) {
      if (t.compare(pos, kMetaspace.size(), kMetaspace) == 0) {
        if (i != 0) out.push_back(' ');
        pos += kMetaspace.size();
      } else {
        out.push_back(t[pos++]);
      }
    }
  }
  return out;
}

std::vector<SentencePieceTokenizer::AddedToken> read_xlmr_added_tokens(const std::string& model_dir) {
  std::vector<SentencePieceTokenizer::AddedToken> out;
  std::error_code ec;
  const fs::path dir(model_dir);
  auto keep = [](const std::string& content) {
    for (const char* name : kFairseqTokens) {
      if (content == name) return false;
    }
    return content != "<mask>";
  };
  if (fs::is_regular_file(dir / "tokenizer.json", ec)) {
    const std::string file = (dir / "tokenizer.json").string();
    const detail::TokenizerJson parsed = detail::read_tokenizer_json(file);
    auto it = parsed.root.find("added_tokens");
    if (it == parsed.root.end() || it->is_null()) return out;
    ELM_CHECK(it->is_array(), "tokenizer ", file, ": added_tokens must be an array");
    for (const json& t : *it) {
      ELM_CHECK(t.is_object() && t.contains("id") && t["id"].is_number_integer() && t.contains("content") &&
                    t["content"].is_string(),
                "tokenizer ", file, ": malformed added token ", t.dump());
      const std::string content = t["content"].get<std::string>();
      const auto id = t["id"].get<std::int64_t>();
      ELM_CHECK(id >= 0 && id <= kMaxId, "tokenizer ", file, ": added token id out of range: ", t.dump());
      if (keep(content)) out.push_back({content, static_cast<std::int32_t>(id)});
    }
    return out;
  }
  if (fs::is_regular_file(dir / "added_tokens.json", ec)) {
    const std::string file = (dir / "added_tokens.json").string();
    std::ifstream in(file);
    json j;
    try {
      j = json::parse(in);
    } catch (const json::exception& e) {
      fail("tokenizer ", file, ": malformed JSON: ", e.what());
    }
    ELM_CHECK(j.is_object(), "tokenizer ", file, ": must be an object {\"token\": id}");
    for (const auto& [content, v] : j.items()) {
      ELM_CHECK(v.is_number_integer() && v.get<std::int64_t>() >= 0 && v.get<std::int64_t>() <= kMaxId, "tokenizer ",
                file, ": \"", content, "\" has no valid id");
      if (keep(content)) out.push_back({content, static_cast<std::int32_t>(v.get<std::int64_t>())});
    }
  }
  return out;
}

}  // namespace elm::text
