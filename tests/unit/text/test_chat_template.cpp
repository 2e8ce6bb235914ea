#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"
#include "text_test_util.h"

namespace elm::text {
namespace {

using M = std::vector<ChatMessage>;

// Expected strings were rendered from tokenizer_config.json's chat_template with Python jinja2
// (ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True), as transformers does).

TEST(ChatTemplate, GenerationPromptWithAndWithoutThinking) {
  const M m{{"user", "Hi"}};
  EXPECT_EQ(apply_chat_template(m, true, true),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(apply_chat_template(m, true, false),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  EXPECT_EQ(apply_chat_template(m, false, false), "<|im_start|>user\nHi<|im_end|>\n");
}

TEST(ChatTemplate, SystemUserAssistantTurns) {
  EXPECT_EQ(apply_chat_template({{"system", "You are helpful."}, {"user", "Hi"}}, true, true),
            "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(apply_chat_template({{"system", "S"}, {"user", "Q1"}, {"assistant", "A1"}, {"user", "Q2"}},
                                true, false),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\n"
            "A1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  EXPECT_EQ(apply_chat_template({{"system", "S1"}, {"user", "Q"}, {"system", "S2"}}, true, true),
            "<|im_start|>system\nS1<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>system\n"
            "S2<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(apply_chat_template({{"system", "S"}}, true, false),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

TEST(ChatTemplate, ReasoningIsDroppedBeforeTheLastQueryAndKeptAfter) {
  EXPECT_EQ(apply_chat_template({{"user", "Q1"},
                                 {"assistant", "<think>\nreason\n</think>\n\nA1"},
                                 {"user", "Q2"},
                                 {"assistant", "<think>\nr2\n</think>\n\nA2"}},
                                false, true),
            "<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\n"
            "Q2<|im_end|>\n<|im_start|>assistant\n<think>\nr2\n</think>\n\nA2<|im_end|>\n");
  // The final assistant turn always gets a (possibly empty) think block.
  EXPECT_EQ(apply_chat_template({{"user", "Q1"}, {"assistant", "A1"}}, false, true),
            "<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nA1<|im_end|>\n");
  EXPECT_EQ(apply_chat_template({{"user", "Q1"}, {"assistant", "\n\nA1"}, {"assistant", "<think>x</think>A2"}},
                                false, true),
            "<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\n\n\nA1<|im_end|>\n"
            "<|im_start|>assistant\n<think>\nx\n</think>\n\nA2<|im_end|>\n");
}

TEST(ChatTemplate, ToolResponsesAreGroupedIntoUserTurns) {
  EXPECT_EQ(apply_chat_template({{"user", "Q"},
                                 {"assistant", "call"},
                                 {"tool", "r1"},
                                 {"tool", "r2"},
                                 {"assistant", "done"}},
                                true, true),
            "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\ncall<|im_end|>\n<|im_start|>user\n"
            "<tool_response>\nr1\n</tool_response>\n<tool_response>\nr2\n</tool_response><|im_end|>\n"
            "<|im_start|>assistant\n<think>\n\n</think>\n\ndone<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(apply_chat_template({{"user", "Q"},
                                 {"assistant", "<think>\nplan\n</think>\n\ncall"},
                                 {"tool", "t"},
                                 {"assistant", "B"}},
                                false, true),
            "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nplan\n</think>\n\ncall<|im_end|>\n"
            "<|im_start|>user\n<tool_response>\nt\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
            "<think>\n\n</think>\n\nB<|im_end|>\n");
  // A user message that is only a tool response does not count as the last query.
  EXPECT_EQ(apply_chat_template({{"user", "Q"},
                                 {"assistant", "A"},
                                 {"user", "<tool_response>x</tool_response>"},
                                 {"assistant", "<think>r</think>B"}},
                                false, true),
            "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n<|im_start|>user\n"
            "<tool_response>x</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\nr\n</think>\n\nB<|im_end|>\n");
}

TEST(ChatTemplate, RejectsEmptyAndUnknownRoles) {
  EXPECT_THROW(apply_chat_template({}, true, true), Error);
  EXPECT_THROW(apply_chat_template({{"User", "hi"}}, true, true), Error);
}

TEST(ChatTemplate, RenderedPromptEncodesToSpecialIds) {
  const auto ids = testing::qwen().encode(apply_chat_template({{"user", "hi"}}, true, false));
  ASSERT_GE(ids.size(), 8u);
  EXPECT_EQ(ids.front(), 151644);  // <|im_start|>
  EXPECT_EQ(ids[ids.size() - 4], 151667);  // <think>
  EXPECT_EQ(ids[ids.size() - 2], 151668);  // </think>
  EXPECT_EQ(testing::qwen().decode(ids), apply_chat_template({{"user", "hi"}}, true, false));
}

TEST(ChatTemplate, ConfigTemplateHasTheStructureWeImplement) {
  // If tokenizer_config.json's template changes, this implementation must be re-checked.
  const auto cfg = nlohmann::json::parse(testing::read_file(testing::qwen_tokenizer_dir() + "/tokenizer_config.json"));
  const std::string tpl = cfg.at("chat_template").get<std::string>();
  EXPECT_NE(tpl.find("{{- '<think>\\n\\n</think>\\n\\n' }}"), std::string::npos);
  EXPECT_NE(tpl.find("{{- '<|im_start|>assistant\\n' }}"), std::string::npos);
  EXPECT_NE(tpl.find("'<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n'"),
            std::string::npos);
  EXPECT_NE(tpl.find("message.content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n')"),
            std::string::npos);
  EXPECT_EQ(tpl.size(), 4116u);
}

}  // namespace
}  // namespace elm::text
