// explicitlm generate: text generation with a KV cache, greedy or sampled, optional chat template.
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli_args.h"
#include "app/commands.h"
#include "app/runtime.h"
#include "app/tokenizer_path.h"
#include "core/error.h"
#include "core/logging.h"
#include "infer/generator.h"
#include "model/qwen3_model.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace elm::app {
namespace {

// Folds the command's own flags into the config, so the run directory records what ran.
void apply_flags(const ArgParser& p, Config& c) {
  const std::string cli = "command line";
  if (auto v = p.maybe("--model")) c.set("model.qwen3_model_path", *v, cli);
  if (auto v = p.maybe("--dtype")) c.set("model.dtype", *v, cli);
  if (auto v = p.maybe("--threads")) c.set("runtime.threads", parse_int(*v, "--threads"), cli);
  if (auto v = p.maybe("--max-new-tokens")) c.set("generation.max_new_tokens", parse_int(*v, "--max-new-tokens"), cli);
  if (auto v = p.maybe("--temperature")) c.set("generation.temperature", parse_float(*v, "--temperature"), cli);
  if (auto v = p.maybe("--top-p")) c.set("generation.top_p", parse_float(*v, "--top-p"), cli);
  if (auto v = p.maybe("--top-k")) c.set("generation.top_k", parse_int(*v, "--top-k"), cli);
  if (auto v = p.maybe("--repetition-penalty"))
    c.set("generation.repetition_penalty", parse_float(*v, "--repetition-penalty"), cli);
  if (auto v = p.maybe("--seed")) c.set("runtime.seed", parse_int(*v, "--seed"), cli);
  if (p.has("--greedy")) c.set("generation.greedy", true, cli);
  if (p.has("--no-kv-cache")) c.set("generation.use_kv_cache", false, cli);
  if (p.has("--chat")) c.set("generation.chat", true, cli);
  if (p.has("--thinking")) c.set("generation.enable_thinking", true, cli);
}

}  // namespace

int run_generate(const Args& args) {
  ArgParser parser("generate",
                   "--model DIR (--prompt S | --ids 1,2,3) [--max-new-tokens N] [--greedy | --temperature T "
                   "--top-p P --top-k K --seed S] [--chat] [--no-kv-cache] [--print-ids]",
                   "Generates text: one prefill over the prompt, then one token per step with the KV cache\n"
                   "(or, with --no-kv-cache, by recomputing the whole sequence each step). Text streams to\n"
                   "stdout as it is generated; timing goes to the log (stderr). Generation stops at\n"
                   "<|im_end|> or <|endoftext|> unless --ignore-eos.");
  parser.option("--model", "DIR", "HF Qwen3 directory (model.qwen3_model_path)")
      .option("--prompt", "S", "prompt text (needs a tokenizer)")
      .option("--ids", "LIST", "prompt token ids instead of text")
      .option("--tokenizer", "PATH", "tokenizer.json or directory (default: the model directory, else the shipped one)")
      .option("--max-new-tokens", "N", "tokens to generate (generation.max_new_tokens, default 64)")
      .flag("--greedy", "argmax decoding (generation.greedy)")
      .option("--temperature", "T", "sampling temperature (default 0.6; 0 = greedy)")
      .option("--top-p", "P", "nucleus sampling mass (default 0.95)")
      .option("--top-k", "K", "keep the K most likely tokens (default 20; 0 = off)")
      .option("--repetition-penalty", "R", "HF repetition penalty (default 1.0 = off)")
      .option("--seed", "S", "sampling seed (runtime.seed)")
      .flag("--chat", "wrap the prompt in the Qwen3 chat template as a user message")
      .flag("--thinking", "with --chat: leave thinking enabled (default appends an empty <think></think>)")
      .flag("--no-kv-cache", "recompute the full sequence every step (baseline; same tokens, slower)")
      .flag("--ignore-eos", "do not stop at end-of-sequence tokens")
      .flag("--print-ids", "print the new token ids as a JSON array on the last line")
      .flag("--no-stream", "print the text once at the end instead of token by token")
      .option("--dtype", "NAME", "compute dtype: float32 (default) or bfloat16")
      .option("--threads", "N", "CPU threads (runtime.threads)")
      .examples("  explicitlm generate --model build/models/qwen3-tiny --prompt \"The capital of France is\" "
                "--max-new-tokens 16 --greedy\n"
                "  explicitlm generate --model DIR --ids 9707,11 --max-new-tokens 24 --greedy --print-ids\n"
                "  explicitlm generate --model DIR --prompt \"Tell me a joke\" --chat --temperature 0.7 --seed 1");
  if (!parser.parse(args)) return 0;
  Config config = parser.config();
  ELM_CHECK(parser.has("--prompt") != parser.has("--ids"), "explicitlm generate: give exactly one of --prompt or --ids");
  apply_flags(parser, config);
  Runtime rt = start_runtime("generate", std::move(config));
  const Config& c = rt.config;

  const std::string model_dir = c.get_string("model.qwen3_model_path");
  ELM_CHECK(!model_dir.empty(), "explicitlm generate: missing --model DIR");
  const std::string tok_path = resolve_tokenizer_path(parser.get_or("--tokenizer", ""), model_dir);
  std::optional<text::Tokenizer> tokenizer;
  if (!tok_path.empty()) tokenizer = text::Tokenizer::load(tok_path);

  std::vector<int64_t> prompt;
  if (parser.has("--prompt")) {
    ELM_CHECK(tokenizer.has_value(), "--prompt needs a tokenizer: pass --tokenizer PATH or use --ids");
    std::string text = parser.get("--prompt");
    if (c.get_bool("generation.chat")) {
      text = text::apply_chat_template({{"user", text}}, /*add_generation_prompt=*/true,
                                       c.get_bool("generation.enable_thinking"));
    }
    for (int32_t id : tokenizer->encode(text)) prompt.push_back(id);
  } else {
    ELM_CHECK(!c.get_bool("generation.chat"), "--chat needs --prompt text");
    prompt = parse_id_list(parser.get("--ids"), "--ids");
  }
  ELM_CHECK(!prompt.empty(), "explicitlm generate: the prompt is empty");

  auto model = model::Qwen3Model::load(model_dir, model::parse_compute_dtype(c.get_string("model.dtype")));
  for (size_t i = 0; i < prompt.size(); ++i) {
    ELM_CHECK(prompt[i] >= 0 && prompt[i] < model.config().vocab_size, "prompt token ", i, ": id ", prompt[i],
              " is outside the vocabulary [0, ", model.config().vocab_size, ")");
  }

  infer::GenerateOptions options;
  options.max_new_tokens = c.get_int("generation.max_new_tokens");
  options.use_kv_cache = c.get_bool("generation.use_kv_cache");
  options.sampling.greedy = c.get_bool("generation.greedy");
  options.sampling.temperature = c.get_float("generation.temperature");
  options.sampling.top_p = c.get_float("generation.top_p");
  options.sampling.top_k = c.get_int("generation.top_k");
  options.sampling.repetition_penalty = c.get_float("generation.repetition_penalty");
  options.sampling.seed = static_cast<uint64_t>(c.get_int("runtime.seed"));
  if (!parser.has("--ignore-eos")) {
    // Qwen3's generation_config ends on <|im_end|> (eos) and <|endoftext|> (which Qwen3 also uses
    // as bos_token_id); the tokenizer names them when present.
    options.stop_ids.push_back(model.config().eos_token_id);
    options.stop_ids.push_back(model.config().bos_token_id);
    if (tokenizer) {
      for (const char* t : {"<|im_end|>", "<|endoftext|>"}) {
        if (auto id = tokenizer->token_to_id(t)) options.stop_ids.push_back(*id);
      }
    }
  }
  const bool stream = tokenizer && !parser.has("--no-stream");
  std::optional<text::StreamDecoder> decoder;
  if (stream) decoder.emplace(*tokenizer);
  options.on_token = [&](int64_t token) {
    if (!decoder) return;
    std::cout << decoder->push(static_cast<int32_t>(token)) << std::flush;
  };

  ELM_LOG(info) << "prompt: " << prompt.size() << " tokens; generating up to " << options.max_new_tokens
                << (options.use_kv_cache ? " with" : " without") << " the KV cache";
  infer::GenerateResult result = infer::generate(model, prompt, options);
  if (decoder) {
    std::cout << decoder->flush() << "\n";
  } else if (tokenizer) {
    std::vector<int32_t> ids(result.tokens.begin(), result.tokens.end());
    std::cout << tokenizer->decode(ids) << "\n";
  }
  const double n = static_cast<double>(result.tokens.size());
  ELM_LOG(info) << "generated " << result.tokens.size() << " tokens (" << result.stop_reason << "); prefill "
                << prompt.size() / std::max(result.prefill_seconds, 1e-9) << " tok/s, decode "
                << (n > 1 ? (n - 1) / std::max(result.decode_seconds, 1e-9) : 0.0) << " tok/s";
  if (parser.has("--print-ids")) std::cout << nlohmann::json(result.tokens).dump() << std::endl;
  return 0;
}

}  // namespace elm::app
