#include "memory/knowledge_base.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace elm::memory {
namespace {

using nlohmann::json;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// 1-based line and column of a 0-based byte offset.
std::pair<size_t, size_t> line_column(std::string_view text, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

// nlohmann's message without its "[json.exception.parse_error.101] parse error at line 1, column 2: " prefix.
std::string short_message(const json::parse_error& e) {
  std::string msg = e.what();
  const auto colon = msg.find(": ");
  if (msg.rfind("[json.exception", 0) == 0 && colon != std::string::npos) msg = msg.substr(colon + 2);
  return msg;
}

// A string member "sentence" or "text" of an object; `where` prefixes errors.
std::string fact_of(const json& obj, const std::string& where) {
  ELM_CHECK(obj.is_object(), where, ": expected an object with a string \"sentence\", got ", obj.type_name());
  for (const char* key : {"sentence", "text"}) {
    auto it = obj.find(key);
    if (it == obj.end()) continue;
    ELM_CHECK(it->is_string(), where, ": \"", key, "\" must be a string, got ", it->type_name());
    return it->get<std::string>();
  }
  fail(where, ": expected an object with a string \"sentence\" (or \"text\")");
}

void append_trex(const json& obj, const std::string& where, std::vector<std::string>& out) {
  const json& target = obj["target"];
  ELM_CHECK(target.is_array(), where, ": \"target\" must be an array, got ", target.type_name());
  for (size_t j = 0; j < target.size(); ++j) out.push_back(fact_of(target[j], str_cat(where, ", target ", j)));
}

KnowledgeBase parse_jsonl(std::string_view content, const std::string& name) {
  KnowledgeBase kb{{}, KnowledgeBaseFormat::Jsonl};
  size_t start = 0, number = 0;
  while (start <= content.size()) {
    size_t end = content.find('\n', start);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = content.substr(start, end - start);
    ++number;
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) {
      if (end == content.size()) break;
      continue;
    }
    json j;
    try {
      j = json::parse(line.begin(), line.end());
    } catch (const json::parse_error& e) {
      fail(name, ":", number, ": invalid JSON at column ", e.byte, ": ", short_message(e));
    }
    kb.facts.push_back(fact_of(j, str_cat(name, ":", number)));
    if (end == content.size()) break;
  }
  return kb;
}

}  // namespace

const char* to_string(KnowledgeBaseFormat format) {
  switch (format) {
    case KnowledgeBaseFormat::JsonArray: return "json";
    case KnowledgeBaseFormat::Trex: return "trex";
    case KnowledgeBaseFormat::Jsonl: return "jsonl";
  }
  return "?";
}

KnowledgeBase parse_knowledge_base(std::string_view content, const std::string& name) {
  if (ends_with(name, ".jsonl") || ends_with(name, ".ndjson")) return parse_jsonl(content, name);
  const size_t first = content.find_first_not_of(" \t\r\n");
  ELM_CHECK(first != std::string_view::npos, name, ": the knowledge base is empty");

  json doc;
  try {
    doc = json::parse(content.begin(), content.end());
  } catch (const json::parse_error& e) {
    // Several objects, one per line, in a file not named .jsonl: JSONL after all.
    if (content[first] == '{') {
      const size_t eol = content.find('\n', first);
      const std::string_view line = content.substr(first, eol == std::string_view::npos ? content.size() - first : eol - first);
      if (json::accept(line.begin(), line.end()) && eol != std::string_view::npos) return parse_jsonl(content, name);
    }
    // e.byte is 1-based: the position of the character that made the parse fail.
    const size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    const auto [line, col] = line_column(content, offset);
    fail(name, ": invalid JSON at byte ", offset, " (line ", line, ", column ", col, "): ", short_message(e));
  }

  KnowledgeBase kb;
  if (doc.is_object()) {
    ELM_CHECK(doc.contains("target"), name, ": a JSON object knowledge base must be TREx ({\"target\": [...]}); "
                                            "use an array of {\"sentence\": ...} or JSONL {\"text\": ...} otherwise");
    kb.format = KnowledgeBaseFormat::Trex;
    append_trex(doc, name, kb.facts);
    return kb;
  }
  ELM_CHECK(doc.is_array(), name, ": expected a JSON array of {\"sentence\": ...}, a TREx object or JSONL; got ",
            doc.type_name());
  for (size_t i = 0; i < doc.size(); ++i) {
    const json& e = doc[i];
    const std::string where = str_cat(name, ": element ", i);
    if (e.is_object() && e.contains("target") && !e.contains("sentence")) {
      kb.format = KnowledgeBaseFormat::Trex;
      append_trex(e, where, kb.facts);
    } else {
      kb.facts.push_back(fact_of(e, where));
    }
  }
  return kb;
}

KnowledgeBase read_knowledge_base(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ELM_CHECK(in.good(), "knowledge base ", path, ": cannot open (no such file or not readable)");
  std::ostringstream ss;
  ss << in.rdbuf();
  ELM_CHECK(!in.bad(), "knowledge base ", path, ": read error");
  return parse_knowledge_base(ss.str(), path);
}

}  // namespace elm::memory
