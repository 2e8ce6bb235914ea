#include "infer/requests.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "text/chat_template.h"

namespace elm::infer {
namespace {

std::vector<int64_t> encode(const text::Tokenizer& tokenizer, const std::string& text) {
  std::vector<int64_t> ids;
  for (int32_t id : tokenizer.encode(text)) ids.push_back(id);
  return ids;
}

std::string id_text(const nlohmann::json& id, const std::string& where) {
  if (id.is_string()) return id.get<std::string>();
  ELM_CHECK(id.is_number_integer(), where, ": \"id\" must be a string or an integer");
  return std::to_string(id.get<int64_t>());
}

}  // namespace

Request make_text_request(const std::string& text, const text::Tokenizer& tokenizer, const RequestFormat& format,
                          int64_t index) {
  Request r;
  r.index = index;
  r.prompt_text = format.chat ? text::apply_chat_template({{"user", text}}, true, format.enable_thinking) : text;
  r.ids = encode(tokenizer, r.prompt_text);
  r.ingest = text;
  return r;
}

std::vector<Request> read_requests(const std::string& path, const text::Tokenizer* tokenizer,
                                   const RequestFormat& format) {
  std::ifstream in(path, std::ios::binary);
  ELM_CHECK(in.good(), "cannot read prompts file ", path);
  std::vector<Request> out;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    auto j = nlohmann::json::parse(line, nullptr, false);
    ELM_CHECK(!j.is_discarded() && j.is_object(), where, ": not a JSON object");
    const int kinds = static_cast<int>(j.contains("prompt")) + static_cast<int>(j.contains("messages")) +
                      static_cast<int>(j.contains("ids"));
    ELM_CHECK(kinds == 1, where, ": give exactly one of \"prompt\", \"messages\" or \"ids\"");
    Request r;
    r.index = static_cast<int64_t>(out.size());
    if (auto id = j.find("id"); id != j.end()) r.id = id_text(*id, where);
    if (auto p = j.find("prompt"); p != j.end()) {
      ELM_CHECK(p->is_string(), where, ": \"prompt\" must be a string");
      ELM_CHECK(tokenizer != nullptr, where, ": a text prompt needs a tokenizer (pass --tokenizer PATH)");
      r = make_text_request(p->get<std::string>(), *tokenizer, format, r.index);
      if (auto id = j.find("id"); id != j.end()) r.id = id_text(*id, where);
    } else if (auto m = j.find("messages"); m != j.end()) {
      ELM_CHECK(m->is_array() && !m->empty(), where, ": \"messages\" must be a non-empty array");
      ELM_CHECK(tokenizer != nullptr, where, ": messages need a tokenizer (pass --tokenizer PATH)");
      std::vector<text::ChatMessage> messages;
      for (const auto& msg : *m) {
        ELM_CHECK(msg.is_object() && msg.contains("role") && msg["role"].is_string() && msg.contains("content") &&
                      msg["content"].is_string(),
                  where, ": every message needs string \"role\" and \"content\"");
        messages.push_back({msg["role"].get<std::string>(), msg["content"].get<std::string>()});
        if (messages.back().role == "user") r.ingest = messages.back().content;
      }
      r.prompt_text = text::apply_chat_template(messages, true, format.enable_thinking);
      r.ids = encode(*tokenizer, r.prompt_text);
    } else {
      const auto& ids = j["ids"];
      ELM_CHECK(ids.is_array() && !ids.empty(), where, ": \"ids\" must be a non-empty array of integers");
      for (const auto& v : ids) {
        ELM_CHECK(v.is_number_integer(), where, ": \"ids\" must hold integers");
        r.ids.push_back(v.get<int64_t>());
      }
    }
    if (auto ingest = j.find("ingest"); ingest != j.end()) {
      ELM_CHECK(ingest->is_string(), where, ": \"ingest\" must be a string");
      r.ingest = ingest->get<std::string>();
    }
    ELM_CHECK(!r.ids.empty(), where, ": the prompt encodes to no tokens");
    out.push_back(std::move(r));
  }
  ELM_CHECK(!out.empty(), "prompts file ", path, " holds no requests");
  return out;
}

}  // namespace elm::infer
