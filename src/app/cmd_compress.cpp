// explicitlm compress: the fact extractor's compressor (LLMLingua-2) from the command line.
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli_args.h"
#include "app/commands.h"
#include "app/runtime.h"
#include "core/error.h"
#include "core/parse.h"
#include "infer/compressor.h"

namespace elm::app {
namespace {

using nlohmann::json;

json compression_json(const infer::Compression& c) {
  json words = json::array();
  for (const auto& w : c.words) {
    words.push_back({{"text", w.text}, {"prob", w.prob}, {"keep", w.keep ? 1 : 0}, {"force", w.force}});
  }
  return {{"text", c.text},       {"chunks", c.chunks},         {"input_tokens", c.input_tokens},
          {"seconds", c.seconds}, {"thresholds", c.thresholds}, {"words", words}};
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

int run_compress(const Args& args) {
  ArgParser parser("compress", "--model DIR (--text S | --jsonl FILE) [--rate R] [--json] [--threads N]",
                   "Compresses text with an LLMLingua-2 token classifier (BERT or XLM-RoBERTa, HF layout): keeps the\n"
                   "words the classifier rates most informative, about `rate` of them, plus the force tokens.\n"
                   "Prints the compressed text; with --json a JSON object with the per-word labels and probabilities.\n"
                   "Without --model, the [extractor] config keys decide (extractor.kind, extractor.model_path).");
  parser.option("--model", "DIR", "token classifier directory (sets extractor.kind=llmlingua2, extractor.model_path)")
      .option("--text", "S", "the text to compress")
      .option("--jsonl", "FILE", "compress every line {\"text\": ...}; prints one JSON line per input line")
      .option("--rate", "R", "fraction of words to keep (extractor.rate, default 0.4)")
      .option("--threads", "N", "CPU threads (runtime.threads)")
      .flag("--json", "print {\"text\", \"chunks\", \"input_tokens\", \"seconds\", \"thresholds\", \"words\": "
                      "[{\"text\", \"prob\", \"keep\", \"force\"}]}")
      .examples("  explicitlm make-tiny-classifier --arch bert --out build/models/lingua-tiny\n"
                "  explicitlm compress --model build/models/lingua-tiny --text \"The meeting starts at nine. Bring the report.\"\n"
                "  explicitlm compress --model /models/llmlingua-2-xlm-roberta-large-meetingbank --rate 0.33 --json --text \"...\"\n"
                "  explicitlm compress --model DIR --jsonl notes.jsonl extractor.drop_consecutive=false > compressed.jsonl")
      .notes("Word weights use the classifier's own piece count per word where LLMLingua-2 uses tiktoken's\n"
             "cl100k count (docs/extractor.md).");
  if (!parser.parse(args)) return 0;
  Config config = parser.config();
  ELM_CHECK(parser.has("--text") != parser.has("--jsonl"), "explicitlm compress: give exactly one of --text or --jsonl");
  const std::string cli = "command line";
  if (auto v = parser.maybe("--model")) {
    config.set("extractor.kind", std::string("llmlingua2"), cli);
    config.set("extractor.model_path", *v, cli);
  }
  if (auto v = parser.maybe("--rate")) config.set("extractor.rate", parse_float(*v, "--rate"), cli);
  if (auto v = parser.maybe("--threads")) config.set("runtime.threads", parse_int(*v, "--threads"), cli);
  const Runtime runtime = start_runtime("compress", std::move(config));
  const auto compressor = infer::make_compressor(runtime.config);
  const bool as_json = parser.has("--json");

  if (parser.has("--text")) {
    const infer::Compression c = compressor->compress(parser.get("--text"));
    std::cout << (as_json ? dump(compression_json(c)) : c.text) << "\n";
    return 0;
  }
  const std::string path = parser.get("--jsonl");
  std::ifstream in(path, std::ios::binary);
  ELM_CHECK(in.good(), "cannot open ", path);
  // Compress everything first so a bad line never leaves half of the output written.
  std::string out, line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    json j;
    try {
      j = json::parse(line);
    } catch (const json::parse_error& e) {
      fail(path, ":", number, ": invalid JSON: ", e.what());
    }
    ELM_CHECK(j.is_object() && j.contains("text") && j["text"].is_string(), path, ":", number,
              ": expected an object with a string \"text\"");
    try {
      const infer::Compression c = compressor->compress(j["text"].get<std::string>());
      out += dump(as_json ? compression_json(c) : json({{"text", c.text}})) + "\n";
    } catch (const Error& e) {
      fail(path, ":", number, ": ", e.what());
    }
  }
  std::cout << out;
  return 0;
}

}  // namespace elm::app
