// Knowledge base files: every accepted form, and malformed input named by file and position.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/assertions.h"
#include "core/error.h"
#include "memory/knowledge_base.h"

namespace elm::memory {
namespace {

namespace fs = std::filesystem;
using Facts = std::vector<std::string>;


using testing::error_of;

TEST(KnowledgeBase, JsonArrayOfSentences) {
  auto kb = parse_knowledge_base(R"([{"sentence": "Paris is in France."}, {"sentence": "Ünïcödé ✓"},
                                     {"text": "text is accepted too"}])",
                                 "kb.json");
  EXPECT_EQ(kb.format, KnowledgeBaseFormat::JsonArray);
  EXPECT_EQ(kb.facts, (Facts{"Paris is in France.", "Ünïcödé ✓", "text is accepted too"}));
  EXPECT_TRUE(parse_knowledge_base("[]", "empty.json").facts.empty());
}

TEST(KnowledgeBase, TrexObjectAndArrayOfTrexObjects) {
  const std::string one = R"({"target": [
      {"sentence": "A is B.", "subject": "A", "predicate": "is", "object": "B", "uuid": "1"},
      {"sentence": "C is D.", "subject": "C", "predicate": "is", "object": "D", "uuid": "2"}]})";
  auto kb = parse_knowledge_base(one, "trex.json");
  EXPECT_EQ(kb.format, KnowledgeBaseFormat::Trex);
  EXPECT_EQ(kb.facts, (Facts{"A is B.", "C is D."}));

  const std::string many = R"([{"target": [{"sentence": "one"}]}, {"target": []}, {"target": [{"sentence": "two"},
                              {"sentence": "three"}]}])";
  kb = parse_knowledge_base(many, "trex2.json");
  EXPECT_EQ(kb.format, KnowledgeBaseFormat::Trex);
  EXPECT_EQ(kb.facts, (Facts{"one", "two", "three"}));
}

TEST(KnowledgeBase, JsonlLinesSkippingBlankOnes) {
  const std::string text = "{\"text\": \"first\"}\n\n{\"text\": \"second\"}\r\n{\"sentence\": \"third\"}";
  auto kb = parse_knowledge_base(text, "kb.jsonl");
  EXPECT_EQ(kb.format, KnowledgeBaseFormat::Jsonl);
  EXPECT_EQ(kb.facts, (Facts{"first", "second", "third"}));
  // Detected from the content when the name does not say JSONL.
  kb = parse_knowledge_base("{\"text\": \"a\"}\n{\"text\": \"b\"}\n", "kb.txt");
  EXPECT_EQ(kb.format, KnowledgeBaseFormat::Jsonl);
  EXPECT_EQ(kb.facts, (Facts{"a", "b"}));
}

TEST(KnowledgeBase, MalformedJsonNamesFileByteLineAndColumn) {
  // The stray "}" on line 3 is byte 43 (0-based), column 20.
  const std::string text = "[\n  {\"sentence\": \"ok\"},\n  {\"sentence\": \"x\"}}\n]";
  auto msg = error_of([&] { parse_knowledge_base(text, "bad.json"); });
  EXPECT_CONTAINS(msg, "bad.json: invalid JSON at byte ");
  EXPECT_CONTAINS(msg, "(line 3, column 20)");
  const size_t pos = text.find("}}") + 1;
  EXPECT_CONTAINS(msg, "byte " + std::to_string(pos));

  msg = error_of([&] { parse_knowledge_base("[{\"sentence\": \"unterminated]", "cut.json"); });
  EXPECT_CONTAINS(msg, "cut.json: invalid JSON at byte");
  EXPECT_CONTAINS(msg, "line 1");
}

TEST(KnowledgeBase, MalformedJsonlNamesFileAndLine) {
  auto msg = error_of([&] { parse_knowledge_base("{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"text\": oops}\n", "k.jsonl"); });
  EXPECT_CONTAINS(msg, "k.jsonl:3: invalid JSON at column");
  msg = error_of([&] { parse_knowledge_base("{\"text\": \"a\"}\n{\"title\": \"b\"}\n", "k.jsonl"); });
  EXPECT_CONTAINS(msg, "k.jsonl:2: expected an object with a string \"sentence\"");
  msg = error_of([&] { parse_knowledge_base("{\"text\": 5}\n", "k.jsonl"); });
  EXPECT_CONTAINS(msg, "k.jsonl:1: \"text\" must be a string");
}

TEST(KnowledgeBase, WrongShapesNameTheElement) {
  auto msg = error_of([&] { parse_knowledge_base(R"([{"sentence": "a"}, {"sentence": 3}])", "s.json"); });
  EXPECT_CONTAINS(msg, "s.json: element 1: \"sentence\" must be a string");
  msg = error_of([&] { parse_knowledge_base(R"([{"sentence": "a"}, "bare"])", "s.json"); });
  EXPECT_CONTAINS(msg, "s.json: element 1: expected an object");
  msg = error_of([&] { parse_knowledge_base(R"({"target": [{"sentence": "a"}, {"subject": "b"}]})", "t.json"); });
  EXPECT_CONTAINS(msg, "t.json, target 1: expected an object with a string \"sentence\"");
  msg = error_of([&] { parse_knowledge_base(R"({"facts": []})", "o.json"); });
  EXPECT_CONTAINS(msg, "o.json: a JSON object knowledge base must be TREx");
  msg = error_of([&] { parse_knowledge_base("42", "n.json"); });
  EXPECT_CONTAINS(msg, "n.json: expected a JSON array");
  msg = error_of([&] { parse_knowledge_base("  \n", "blank.json"); });
  EXPECT_CONTAINS(msg, "blank.json: the knowledge base is empty");
}

TEST(KnowledgeBase, ReadsFilesAndNamesMissingOnes) {
  const fs::path dir = fs::temp_directory_path() / ("elm_kb_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "kb.json").string();
  std::ofstream(path) << R"([{"sentence": "from a file"}])";
  EXPECT_EQ(read_knowledge_base(path).facts, (Facts{"from a file"}));
  const std::string missing = (dir / "missing.json").string();
  auto msg = error_of([&] { read_knowledge_base(missing); });
  EXPECT_CONTAINS(msg, missing);
  EXPECT_CONTAINS(msg, "cannot open");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace elm::memory
