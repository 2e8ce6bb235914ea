#pragma once
// Knowledge base files: the facts a memory bank is built from, one sentence per fact, in file order.
//
// Accepted forms (detected from the content; a .jsonl / .ndjson name forces JSONL):
//   JSON array of objects      [{"sentence": "..."}, ...]            ("text" is accepted for "sentence")
//   TREx                       {"target": [{"sentence", "subject", "predicate", "object", "uuid"}, ...]}
//                              or a JSON array of such objects (their targets are concatenated)
//   JSONL                      one {"text": "..."} per line ("sentence" accepted); blank lines skipped
//
// Errors are elm::Error naming the file and the position: `FILE:LINE: ...` for JSONL,
// `FILE: invalid JSON at byte B (line L, column C): ...` for JSON, and `FILE: element I: ...` /
// `FILE: element I, target J: ...` for a well-formed document of the wrong shape.
#include <string>
#include <string_view>
#include <vector>

namespace elm::memory {

enum class KnowledgeBaseFormat { JsonArray, Trex, Jsonl };
const char* to_string(KnowledgeBaseFormat format);

struct KnowledgeBase {
  std::vector<std::string> facts;
  KnowledgeBaseFormat format = KnowledgeBaseFormat::JsonArray;
};

// Reads and parses a knowledge base file.
KnowledgeBase read_knowledge_base(const std::string& path);

// Parses knowledge base text; `name` is used in error messages (and its extension decides JSONL).
KnowledgeBase parse_knowledge_base(std::string_view content, const std::string& name);

}  // namespace elm::memory
