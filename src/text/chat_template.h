#pragma once
// The Qwen3 chat template (tokenizer_config.json "chat_template") rendered in C++ for messages
// without tools: system, user, assistant and tool roles.
#include <string>
#include <vector>

namespace elm::text {

struct ChatMessage {
  std::string role;
  std::string content;
};

// "<|im_start|>{role}\n{content}<|im_end|>\n" per message, following the Jinja template: a leading
// system message, user/system turns verbatim, assistant turns with "<think>...</think>" reasoning
// moved or dropped exactly as the template does, consecutive tool results grouped into one user
// turn. add_generation_prompt appends "<|im_start|>assistant\n"; enable_thinking=false then also
// appends "<think>\n\n</think>\n\n". An empty list (the template raises) and unknown roles (the
// template would silently drop them) throw elm::Error.
std::string apply_chat_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                bool enable_thinking);

}  // namespace elm::text
