// Generation requests from JSONL: the three prompt kinds, ids echoed, what the auxiliary path reads,
// and errors that name FILE:LINE.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "infer/requests.h"
#include "support/assertions.h"
#include "support/test_paths.h"
#include "text/chat_template.h"

namespace elm::infer {
namespace {

std::string write_lines(const std::string& name, const std::string& text) {
  const auto path = testing::scratch_dir("requests", name) / "prompts.jsonl";
  std::ofstream(path) << text;
  return path.string();
}

std::vector<int64_t> encode(const std::string& text) {
  std::vector<int64_t> out;
  for (int32_t id : testing::qwen3_tokenizer().encode(text)) out.push_back(id);
  return out;
}

TEST(Requests, ReadsPromptsMessagesAndIdsInOrder) {
  const auto path = write_lines("kinds",
                                "{\"prompt\": \"Paris is\", \"id\": \"a\"}\n"
                                "\n"
                                "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, "
                                "{\"role\": \"user\", \"content\": \"Hi there\"}], \"id\": 7}\n"
                                "{\"ids\": [1, 2, 3], \"ingest\": \"Pemar lives in Oslo.\"}\n");
  const auto& tok = testing::qwen3_tokenizer();
  auto rs = read_requests(path, &tok, {});
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].index, 0);
  EXPECT_EQ(rs[0].id, "a");
  EXPECT_EQ(rs[0].prompt_text, "Paris is");
  EXPECT_EQ(rs[0].ids, encode("Paris is"));
  EXPECT_EQ(rs[0].ingest, "Paris is");
  EXPECT_EQ(rs[1].index, 1);
  EXPECT_EQ(rs[1].id, "7");
  const std::string chat =
      text::apply_chat_template({{"system", "Be brief."}, {"user", "Hi there"}}, true, /*enable_thinking=*/false);
  EXPECT_EQ(rs[1].prompt_text, chat);
  EXPECT_EQ(rs[1].ids, encode(chat));
  EXPECT_EQ(rs[1].ingest, "Hi there");  // the last user message, not the system text
  EXPECT_EQ(rs[2].ids, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(rs[2].ingest, "Pemar lives in Oslo.");
}

TEST(Requests, ChatFormatWrapsPlainPromptsAndIngestCanBeEmpty) {
  const auto path = write_lines("chat", "{\"prompt\": \"Hello\", \"ingest\": \"\"}\n");
  auto rs = read_requests(path, &testing::qwen3_tokenizer(), {/*chat=*/true, /*enable_thinking=*/false});
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].prompt_text, text::apply_chat_template({{"user", "Hello"}}, true, false));
  EXPECT_EQ(rs[0].ingest, "");
}

TEST(Requests, ErrorsNameFileAndLine) {
  const auto& tok = testing::qwen3_tokenizer();
  struct Case {
    const char* name;
    const char* text;
    const char* expect;
  };
  for (const Case& c : {Case{"not-json", "{\"prompt\": \"a\"}\n{oops\n", ":2: not a JSON object"},
                        Case{"two-kinds", "{\"prompt\": \"a\", \"ids\": [1]}\n", ":1: give exactly one of"},
                        Case{"none", "{\"id\": 3}\n", ":1: give exactly one of"},
                        Case{"bad-ids", "{\"ids\": [1, \"x\"]}\n", ":1: \"ids\" must hold integers"},
                        Case{"bad-role", "{\"messages\": [{\"role\": \"user\"}]}\n", ":1: every message needs"},
                        Case{"bad-id", "{\"prompt\": \"a\", \"id\": [1]}\n", ":1: \"id\" must be a string or an integer"},
                        Case{"empty-prompt", "{\"prompt\": \"\"}\n", ":1: the prompt encodes to no tokens"}}) {
    const auto path = write_lines(c.name, c.text);
    try {
      read_requests(path, &tok, {});
      ADD_FAILURE() << c.name << ": no error";
    } catch (const Error& e) {
      EXPECT_CONTAINS(std::string(e.what()), path + c.expect) << c.name;
    }
  }
  EXPECT_THROW(read_requests(write_lines("empty", "\n\n"), &tok, {}), Error);
  EXPECT_THROW(read_requests(write_lines("no-tokenizer", "{\"prompt\": \"a\"}\n"), nullptr, {}), Error);
  EXPECT_EQ(read_requests(write_lines("ids-no-tokenizer", "{\"ids\": [4]}\n"), nullptr, {}).size(), 1u);
}

}  // namespace
}  // namespace elm::infer
