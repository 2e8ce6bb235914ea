#pragma once
// Generation requests: the prompts of one `explicitlm generate` run, from the command line or a
// JSONL file, one request per line:
//
//   {"prompt": "The capital of France is"}                     plain text (chat template with --chat)
//   {"messages": [{"role": "user", "content": "Hi"}, ...]}     a conversation (always the chat template)
//   {"ids": [785, 6722, 315]}                                   token ids as they are
//   optional: "id" (string or integer, echoed in the results), "ingest" (the text the auxiliary path
//   reads for this request; default: the prompt text, or the last user message; "" = nothing)
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "text/tokenizer.h"

namespace elm::infer {

struct Request {
  int64_t index = 0;         // position in the input (results come back in this order)
  std::string id;            // the line's "id" as text ("" when absent)
  std::string prompt_text;   // the text the model sees (after the chat template); "" for ids
  std::vector<int64_t> ids;  // the prompt's token ids
  std::string ingest;        // what the auxiliary path reads ("" = nothing)
};

struct RequestFormat {
  bool chat = false;             // wrap plain prompts in the chat template as a user turn
  bool enable_thinking = false;  // chat template: leave thinking enabled
};

// One request from text (`ingest` defaults to the text itself).
Request make_text_request(const std::string& text, const text::Tokenizer& tokenizer, const RequestFormat& format,
                          int64_t index = 0);

// Every request of a JSONL file (blank lines skipped). Text needs a tokenizer (else an error naming
// FILE:LINE); errors name FILE:LINE and the field. An empty file is an error.
std::vector<Request> read_requests(const std::string& path, const text::Tokenizer* tokenizer,
                                   const RequestFormat& format);

}  // namespace elm::infer
