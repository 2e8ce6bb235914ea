#include "train/dataset_formats.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace elm::train {

using nlohmann::json;

SpecialIds SpecialIds::of(const text::Tokenizer& tokenizer) {
  auto need = [&](const char* token) {
    auto id = tokenizer.token_to_id(token);
    ELM_CHECK(id.has_value(), "tokenizer ", tokenizer.path(), " has no token ", token);
    return *id;
  };
  SpecialIds s;
  s.endoftext = need("<|endoftext|>");
  s.im_end = need("<|im_end|>");
  need("<|im_start|>");
  s.assistant_header = tokenizer.encode("<|im_start|>assistant\n");
  return s;
}

namespace {

void truncate(Example& ex, std::int64_t max_length) {
  ELM_CHECK(max_length >= 1, "data.max_length must be >= 1, got ", max_length);
  const auto n = static_cast<std::size_t>(max_length);
  if (ex.input_ids.size() > n) {
    ex.input_ids.resize(n);
    ex.loss_mask.resize(n);
    ex.truncated = true;
  }
}

// Whether ids[pos..] starts with `pattern`.
bool starts_at(const std::vector<std::int32_t>& ids, std::size_t pos, const std::vector<std::int32_t>& pattern) {
  if (pattern.empty() || pos + pattern.size() > ids.size()) return false;
  return std::equal(pattern.begin(), pattern.end(), ids.begin() + static_cast<std::ptrdiff_t>(pos));
}

}  // namespace

Example encode_pretrain(std::string_view text, const text::Tokenizer& tokenizer, const SpecialIds& ids,
                        std::int64_t max_length, bool wrap) {
  Example ex;
  if (wrap) {
    ex.input_ids = tokenizer.encode(
        text::apply_chat_template({{"assistant", std::string(text)}}, /*add_generation_prompt=*/false,
                                  /*enable_thinking=*/false));
  } else {
    ex.input_ids = tokenizer.encode(text);
    ex.input_ids.push_back(ids.endoftext);
  }
  ex.loss_mask.assign(ex.input_ids.size(), 1);
  truncate(ex, max_length);
  return ex;
}

Example encode_sft(const std::vector<text::ChatMessage>& conversation, const text::Tokenizer& tokenizer,
                   const SpecialIds& ids, std::int64_t max_length) {
  ELM_CHECK(std::any_of(conversation.begin(), conversation.end(),
                        [](const text::ChatMessage& m) { return m.role == "assistant"; }),
            "conversation has no assistant turn (nothing to learn)");
  Example ex;
  ex.input_ids = tokenizer.encode(text::apply_chat_template(conversation, false, false));
  ex.loss_mask.assign(ex.input_ids.size(), 0);
  const auto& header = ids.assistant_header;
  std::size_t i = 0;
  while (i < ex.input_ids.size()) {
    if (!starts_at(ex.input_ids, i, header)) {
      ++i;
      continue;
    }
    std::size_t j = i + header.size();
    for (; j < ex.input_ids.size(); ++j) {
      ex.loss_mask[j] = 1;
      if (ex.input_ids[j] == ids.im_end) break;
    }
    i = j + 1;
  }
  truncate(ex, max_length);
  return ex;
}

Example encode_router(std::string_view query, std::vector<std::int64_t> target_indices,
                      std::vector<float> target_scores, const text::Tokenizer& tokenizer, std::int64_t max_length) {
  ELM_CHECK(!target_indices.empty(), "\"target_indices\" is empty");
  ELM_CHECK(target_indices.size() == target_scores.size(), "\"target_indices\" has ", target_indices.size(),
            " elements but \"target_scores\" has ", target_scores.size());
  for (auto idx : target_indices) ELM_CHECK(idx >= 0, "\"target_indices\" holds a negative index ", idx);
  for (auto s : target_scores) ELM_CHECK(std::isfinite(s), "\"target_scores\" holds a non-finite score");
  Example ex;
  ex.input_ids = tokenizer.encode(query);
  ELM_CHECK(!ex.input_ids.empty(), "\"query\" is empty");
  ex.loss_mask.assign(ex.input_ids.size(), 0);
  ex.target_indices = std::move(target_indices);
  ex.target_scores = std::move(target_scores);
  truncate(ex, max_length);
  return ex;
}

Example encode_qa(std::string_view prompt, std::string_view answer, std::int64_t index,
                  std::vector<BankOverride> overrides, const text::Tokenizer& tokenizer, std::int64_t max_length) {
  Example ex;
  ex.input_ids = tokenizer.encode(prompt);
  ELM_CHECK(!ex.input_ids.empty(), "\"prompt\" is empty");
  const auto answer_ids = tokenizer.encode(answer);
  ELM_CHECK(!answer_ids.empty(), "\"answer\" is empty");
  ELM_CHECK(static_cast<std::int64_t>(ex.input_ids.size() + answer_ids.size()) <= max_length,
            "prompt and answer take ", ex.input_ids.size() + answer_ids.size(), " tokens, more than data.max_length ",
            max_length, " (a truncated QA example would have no answer to learn)");
  ex.loss_mask.assign(ex.input_ids.size(), 0);
  ex.input_ids.insert(ex.input_ids.end(), answer_ids.begin(), answer_ids.end());
  ex.loss_mask.resize(ex.input_ids.size(), 1);
  if (index >= 0) {
    ex.target_indices = {index};
    ex.target_scores = {1.0f};
  }
  for (const auto& o : overrides) ELM_CHECK(o.index >= 0, "\"bank\" names a negative index ", o.index);
  ex.bank_overrides = std::move(overrides);
  return ex;
}

namespace {

const json& field(const json& j, const char* name, const char* what) {
  auto it = j.find(name);
  ELM_CHECK(it != j.end(), "missing \"", name, "\" (", what, ")");
  return *it;
}

std::string string_field(const json& j, const char* name) {
  const json& v = field(j, name, "a string");
  ELM_CHECK(v.is_string(), "\"", name, "\" must be a string, got ", v.type_name());
  return v.get<std::string>();
}

}  // namespace

Example parse_example(std::string_view line, const DataOptions& options, const text::Tokenizer& tokenizer,
                      const SpecialIds& ids) {
  json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  ELM_CHECK(!j.is_discarded(), "invalid JSON");
  ELM_CHECK(j.is_object(), "expected a JSON object, got ", j.type_name());
  switch (options.format) {
    case DataFormat::pretrain: {
      std::string text = string_field(j, "text");
      ELM_CHECK(!text.empty(), "\"text\" is empty");
      return encode_pretrain(text, tokenizer, ids, options.max_length, options.wrap_chat_template);
    }
    case DataFormat::sft: {
      const json& conv = field(j, "conversations", "an array of {\"role\", \"content\"}");
      ELM_CHECK(conv.is_array() && !conv.empty(), "\"conversations\" must be a non-empty array");
      std::vector<text::ChatMessage> messages;
      for (std::size_t k = 0; k < conv.size(); ++k) {
        const json& m = conv[k];
        ELM_CHECK(m.is_object(), "conversations[", k, "] must be an object");
        auto role = m.find("role");
        auto content = m.find("content");
        ELM_CHECK(role != m.end() && role->is_string(), "conversations[", k, "] needs a string \"role\"");
        ELM_CHECK(content != m.end() && content->is_string(), "conversations[", k, "] needs a string \"content\"");
        messages.push_back({role->get<std::string>(), content->get<std::string>()});
      }
      return encode_sft(messages, tokenizer, ids, options.max_length);
    }
    case DataFormat::router: {
      std::string query = string_field(j, "query");
      const json& ti = field(j, "target_indices", "an array of integers");
      const json& ts = field(j, "target_scores", "an array of numbers");
      ELM_CHECK(ti.is_array(), "\"target_indices\" must be an array");
      ELM_CHECK(ts.is_array(), "\"target_scores\" must be an array");
      std::vector<std::int64_t> indices;
      std::vector<float> scores;
      for (const auto& v : ti) {
        ELM_CHECK(v.is_number_integer(), "\"target_indices\" must hold integers, got ", v.type_name());
        indices.push_back(v.get<std::int64_t>());
      }
      for (const auto& v : ts) {
        ELM_CHECK(v.is_number(), "\"target_scores\" must hold numbers, got ", v.type_name());
        scores.push_back(v.get<float>());
      }
      return encode_router(query, std::move(indices), std::move(scores), tokenizer, options.max_length);
    }
    case DataFormat::qa: {
      std::string prompt = string_field(j, "prompt");
      std::string answer = string_field(j, "answer");
      std::int64_t index = -1;
      if (auto it = j.find("index"); it != j.end()) {
        ELM_CHECK(it->is_number_integer() && it->get<std::int64_t>() >= 0,
                  "\"index\" must be a non-negative integer (the bank entry holding the fact)");
        index = it->get<std::int64_t>();
      }
      std::vector<BankOverride> overrides;
      if (auto it = j.find("bank"); it != j.end()) {
        ELM_CHECK(it->is_array(), "\"bank\" must be an array of {\"index\", \"text\"}");
        for (std::size_t k = 0; k < it->size(); ++k) {
          const json& o = (*it)[k];
          ELM_CHECK(o.is_object(), "bank[", k, "] must be an object {\"index\", \"text\"}");
          auto oi = o.find("index");
          auto ot = o.find("text");
          ELM_CHECK(oi != o.end() && oi->is_number_integer() && oi->get<std::int64_t>() >= 0,
                    "bank[", k, "] needs a non-negative integer \"index\"");
          ELM_CHECK(ot != o.end() && ot->is_string(), "bank[", k, "] needs a string \"text\"");
          overrides.push_back({oi->get<std::int64_t>(), ot->get<std::string>()});
        }
      }
      // The prompt ends before the answer's leading space ("...\nAnswer:" + " Lisbon").
      if (!answer.empty() && answer[0] != ' ' && answer[0] != '\n') answer.insert(0, " ");
      return encode_qa(prompt, answer, index, std::move(overrides), tokenizer, options.max_length);
    }
  }
  fail("unknown data format");
}

}  // namespace elm::train
