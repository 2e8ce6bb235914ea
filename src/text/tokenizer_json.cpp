#include "text/tokenizer_json.h"

#include <fstream>

#include "core/error.h"

namespace elm::text::detail {
namespace {

using nlohmann::json;

class Sax : public nlohmann::json_sax<json> {
 public:
  explicit Sax(TokenizerJson& out) : out_(out) {}
  const std::string& error() const { return error_; }

  bool null() override { return value(json(nullptr)); }
  bool boolean(bool v) override { return value(json(v)); }
  bool number_integer(number_integer_t v) override {
    if (mode_ == Mode::kVocab) {
      out_.vocab.emplace_back(std::move(key_), v);
      return true;
    }
    return value(json(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (mode_ == Mode::kVocab) {
      if (v > static_cast<number_unsigned_t>(INT64_MAX)) return fail_at("model.vocab id out of range");
      out_.vocab.emplace_back(std::move(key_), static_cast<std::int64_t>(v));
      return true;
    }
    return value(json(v));
  }
  bool number_float(number_float_t v, const string_t&) override { return value(json(v)); }
  bool binary(binary_t& v) override { return value(json(std::move(v))); }
  bool string(string_t& v) override {
    if (mode_ == Mode::kMerges) return add_string_merge(v);
    if (mode_ == Mode::kMergePair) {
      pair_.push_back(std::move(v));
      return true;
    }
    return value(json(std::move(v)));
  }

  bool start_object(std::size_t) override {
    if (mode_ != Mode::kNormal) return fail_at(mode_name() + " has an unexpected object");
    if (at_model_child("vocab")) {
      mode_ = Mode::kVocab;
      out_.has_vocab = true;
      return true;
    }
    push(json::object());
    return true;
  }
  bool key(string_t& k) override {
    if (mode_ == Mode::kVocab) {
      key_ = std::move(k);
      return true;
    }
    keys_.back() = std::move(k);
    return true;
  }
  bool end_object() override {
    if (mode_ == Mode::kVocab) {
      mode_ = Mode::kNormal;
      return true;
    }
    pop();
    return true;
  }
  bool start_array(std::size_t) override {
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kMergePair;
      pair_.clear();
      return true;
    }
    if (mode_ != Mode::kNormal) return fail_at(mode_name() + " has an unexpected array");
    if (at_model_child("merges")) {
      mode_ = Mode::kMerges;
      out_.has_merges = true;
      return true;
    }
    push(json::array());
    return true;
  }
  bool end_array() override {
    if (mode_ == Mode::kMergePair) {
      if (pair_.size() != 2) return fail_at(merge_name() + " is not a pair [\"a\", \"b\"]");
      out_.merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
      mode_ = Mode::kMerges;
      return true;
    }
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kNormal;
      return true;
    }
    pop();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    if (error_.empty()) error_ = std::string("malformed JSON: ") + e.what();
    return false;
  }

 private:
  enum class Mode { kNormal, kVocab, kMerges, kMergePair };

  std::string mode_name() const {
    return mode_ == Mode::kVocab ? "model.vocab" : merge_name();
  }
  std::string merge_name() const { return "model.merges[" + std::to_string(out_.merges.size()) + "]"; }
  bool fail_at(const std::string& what) {
    if (error_.empty()) error_ = what;
    return false;
  }

  // True when the value about to start is root["model"][name].
  bool at_model_child(const char* name) const {
    return stack_.size() == 2 && keys_[0] == "model" && keys_[1] == name && stack_[1]->is_object();
  }

  bool value(json&& v) {
    if (mode_ != Mode::kNormal) return fail_at(mode_name() + " has a value of the wrong type");
    insert(std::move(v));
    return true;
  }
  json* insert(json&& v) {
    if (stack_.empty()) {
      out_.root = std::move(v);
      return &out_.root;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    json& slot = parent[keys_.back()];
    slot = std::move(v);
    return &slot;
  }
  void push(json&& container) {
    stack_.push_back(insert(std::move(container)));
    keys_.emplace_back();
  }
  void pop() {
    stack_.pop_back();
    keys_.pop_back();
  }

  bool add_string_merge(const std::string& s) {
    // HF's legacy format: "left right", exactly one space.
    const auto sp = s.find(' ');
    if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
      return fail_at(merge_name() + " \"" + s + "\" is not \"left right\"");
    }
    out_.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    return true;
  }

  TokenizerJson& out_;
  std::vector<json*> stack_;
  std::vector<std::string> keys_;  // current key of each object on the stack
  Mode mode_ = Mode::kNormal;
  std::string key_;
  std::vector<std::string> pair_;
  std::string error_;
};

}  // namespace

TokenizerJson read_tokenizer_json(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("tokenizer ", file, ": cannot open file");
  in.seekg(0, std::ios::end);
  std::string text(static_cast<std::size_t>(in.tellg()), '\0');
  in.seekg(0, std::ios::beg);
  if (!in.read(text.data(), static_cast<std::streamsize>(text.size()))) {
    fail("tokenizer ", file, ": read error");
  }
  TokenizerJson out;
  Sax sax(out);
  bool ok = false;
  try {
    ok = json::sax_parse(text, &sax);
  } catch (const json::exception& e) {
    fail("tokenizer ", file, ": malformed JSON: ", e.what());
  }
  if (!ok) fail("tokenizer ", file, ": ", sax.error().empty() ? "malformed JSON" : sax.error());
  return out;
}

}  // namespace elm::text::detail
