// explicitlm tokenize / detokenize: the Qwen3 tokenizer from the command line.
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli_args.h"
#include "app/commands.h"
#include "app/runtime.h"
#include "app/tokenizer_path.h"
#include "core/error.h"
#include "text/tokenizer.h"

namespace elm::app {
namespace {

text::Tokenizer load_tokenizer(const ArgParser& parser) {
  const std::string path = resolve_tokenizer_path(parser.get_or("--tokenizer", ""), "");
  ELM_CHECK(!path.empty(), "no tokenizer: pass --tokenizer PATH (run tools/setup.sh to export the Qwen3 one)");
  return text::Tokenizer::load(path);
}

std::string ids_json(const std::vector<int32_t>& ids) { return nlohmann::json(ids).dump(); }

}  // namespace

int run_tokenize(const Args& args) {
  ArgParser parser("tokenize", "[--tokenizer PATH] (--text S | --jsonl FILE)",
                   "Encodes text with the Qwen3 byte-level BPE tokenizer and prints the ids as a JSON array.\n"
                   "No special tokens are added; special-token text in the input (e.g. <|im_end|>) maps to its id.");
  parser.option("--tokenizer", "PATH", "tokenizer.json, or a model directory holding one (default: the Qwen3 "
                                       "tokenizer exported by tools/setup.sh)")
      .option("--text", "S", "the text to encode")
      .option("--jsonl", "FILE", "encode every line {\"text\": ...}; prints one {\"ids\": [...]} line per input line")
      .examples("  explicitlm tokenize --text \"Hello, world!\"\n"
                "  explicitlm tokenize --tokenizer build/models/qwen3-tiny --jsonl prompts.jsonl > ids.jsonl");
  if (!parser.parse(args)) return 0;
  Config config = parser.config();
  ELM_CHECK(parser.has("--text") != parser.has("--jsonl"), "explicitlm tokenize: give exactly one of --text or --jsonl");
  start_runtime("tokenize", std::move(config));
  const text::Tokenizer tokenizer = load_tokenizer(parser);

  if (parser.has("--text")) {
    std::cout << ids_json(tokenizer.encode(parser.get("--text"))) << "\n";
    return 0;
  }
  const std::string path = parser.get("--jsonl");
  std::ifstream in(path, std::ios::binary);
  ELM_CHECK(in.good(), "cannot open ", path);
  // Encode everything first so a bad line never leaves half of the output written.
  std::string out, line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      fail(path, ":", number, ": invalid JSON: ", e.what());
    }
    ELM_CHECK(j.is_object() && j.contains("text") && j["text"].is_string(), path, ":", number,
              ": expected an object with a string \"text\"");
    try {
      out += "{\"ids\": " + ids_json(tokenizer.encode(j["text"].get<std::string>())) + "}\n";
    } catch (const Error& e) {
      fail(path, ":", number, ": ", e.what());
    }
  }
  std::cout << out;
  return 0;
}

int run_detokenize(const Args& args) {
  ArgParser parser("detokenize", "[--tokenizer PATH] --ids 1,2,3 [--skip-special] [--json]",
                   "Decodes token ids to text (incomplete UTF-8 sequences become U+FFFD, as HF does).");
  parser.option("--tokenizer", "PATH", "tokenizer.json or a model directory (default: the exported Qwen3 one)")
      .option("--ids", "LIST", "comma-separated ids, or a JSON array")
      .flag("--skip-special", "drop special tokens such as <|im_end|>")
      .flag("--json", "print the text as a JSON string (escapes newlines and control characters)")
      .examples("  explicitlm detokenize --ids 9707,11,1879,0\n  explicitlm detokenize --ids '[151644, 872]' --json");
  if (!parser.parse(args)) return 0;
  Config config = parser.config();
  start_runtime("detokenize", std::move(config));
  const text::Tokenizer tokenizer = load_tokenizer(parser);
  std::vector<int32_t> ids;
  for (int64_t id : parse_id_list(parser.get("--ids"), "--ids")) {
    ELM_CHECK(id >= 0 && id < tokenizer.vocab_size(), "--ids: id ", id, " is outside the vocabulary [0, ",
              tokenizer.vocab_size(), ")");
    ids.push_back(static_cast<int32_t>(id));
  }
  const std::string text = tokenizer.decode(ids, parser.has("--skip-special"));
  if (parser.has("--json")) {
    std::cout << nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << text << "\n";
  }
  return 0;
}

}  // namespace elm::app
