// explicitlm chat: a conversation on stdin/stdout with a plain Qwen3 or a trained ExplicitLM, in the
// Qwen3 chat template; each turn re-reads the whole conversation (the bank may have changed since
// the last turn, so cached attention states after a memory layer would be stale).
#include <unistd.h>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "app/cli_args.h"
#include "app/commands.h"
#include "app/generation_setup.h"
#include "app/run_source.h"
#include "app/runtime.h"
#include "app/tokenizer_path.h"
#include "core/error.h"
#include "core/logging.h"
#include "infer/dual_path_setup.h"
#include "infer/inference_model.h"
#include "infer/requests.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace elm::app {
namespace {

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

}  // namespace

int run_chat(const Args& args) {
  ArgParser parser("chat", "(--model DIR | --run DIR | --checkpoint PATH) [--system TEXT] [sampling options]",
                   "A conversation: each line on stdin is a user message; the reply streams to stdout, followed\n"
                   "by an empty line. The whole conversation goes through the Qwen3 chat template every turn.\n"
                   "With --run / --checkpoint the model is a trained ExplicitLM and every reply token reads the\n"
                   "bank. With --dual-path each message is also read into facts (while the reply is generated)\n"
                   "and written into the bank before the next turn, so the next answer can use them.\n"
                   "Commands: /reset (forget the conversation), /quit (or end of input).");
  parser.option("--model", "DIR", "HF Qwen3 directory (model.qwen3_model_path)")
      .option("--run", "DIR", "run directory of explicitlm train (memory stages)")
      .option("--checkpoint", "PATH", "checkpoint file (default with --run: the run's newest)")
      .option("--bank", "FILE", "bank file to read instead of the run's")
      .option("--system", "TEXT", "a system message at the start of the conversation")
      .option("--tokenizer", "PATH", "tokenizer.json or directory (default: the model directory, else the shipped one)")
      .option("--max-new-tokens", "N", "tokens per reply at most (generation.max_new_tokens, default 64)")
      .flag("--greedy", "argmax decoding (generation.greedy)")
      .option("--temperature", "T", "sampling temperature (default 0.6; 0 = greedy)")
      .option("--top-p", "P", "nucleus sampling mass (default 0.95)")
      .option("--top-k", "K", "keep the K most likely tokens (default 20; 0 = off)")
      .option("--repetition-penalty", "R", "HF repetition penalty (default 1.0 = off)")
      .option("--seed", "S", "sampling seed (runtime.seed); turn t samples with seed + t")
      .flag("--thinking", "leave thinking enabled (default appends an empty <think></think>)")
      .flag("--no-memory", "a memory model answers with its backbone alone")
      .flag("--dual-path", "read each message into facts and write them into the bank before the next turn")
      .option("--extractor", "K", "dual path: llmlingua2 (default; needs --extractor-model) or passthrough (extractor.kind)")
      .option("--extractor-model", "DIR", "dual path: the LLMLingua-2 token classifier (extractor.model_path)")
      .option("--policy", "P", "dual path: fifo|lru|random|similarity|importance|route (inference.update_policy)")
      .option("--bank-out", "FILE", "dual path: save the updated bank here at the end (inference.bank_out)")
      .option("--dtype", "NAME", "compute dtype: float32 (default) or bfloat16")
      .option("--threads", "N", "CPU threads (runtime.threads)")
      .examples("  explicitlm chat --model /models/Qwen3-0.6B --temperature 0.7\n"
                "  printf 'Where does Pemar live?\\n' | explicitlm chat --run build/demo/seed0/runs/joint --greedy\n"
                "  explicitlm chat --run runs/joint --dual-path --extractor passthrough --policy similarity --bank-out bank2.h5");
  const RunSource source = find_run_source(args);
  use_run_config(parser, source);
  if (!parser.parse(args)) return 0;
  ELM_CHECK(!(parser.has("--model") && !source.empty()),
            "explicitlm chat: --model is a plain Qwen3; --run/--checkpoint already name the backbone");
  Config config = parser.config();
  keep_out_of_training_run(config, source);
  fold_generation_flags(parser, config);
  Runtime rt = start_runtime("chat", std::move(config));
  const Config& c = rt.config;

  const std::string tok_path = resolve_tokenizer_path(parser.get_or("--tokenizer", ""), c.get_string("model.qwen3_model_path"));
  ELM_CHECK(!tok_path.empty(), "explicitlm chat: no tokenizer (pass --tokenizer PATH or run tools/setup.sh)");
  infer::InferenceModel model = infer::load_inference_model(c, source.checkpoint, tok_path, parser.get_or("--bank", ""));
  const text::Tokenizer& tokenizer = *model.tokenizer;
  infer::GenerateOptions options = generation_options(c, model, /*stop_at_eos=*/true);
  auto lm = model.causal_lm(c.get_bool("generation.use_memory"));
  const bool thinking = c.get_bool("generation.enable_thinking");
  const bool interactive = isatty(STDIN_FILENO) != 0;
  infer::DualPathSetup dual;
  if (c.get_bool("inference.dual_path")) dual = infer::make_dual_path(model, dynamic_cast<infer::MemoryLM*>(lm.get()), c);
  const std::string bank_out = c.get_string("inference.bank_out");
  ELM_CHECK(dual.dual || bank_out.empty(), "--bank-out needs the dual path (--dual-path)");

  std::vector<text::ChatMessage> history;
  if (auto system = parser.maybe("--system")) history.push_back({"system", *system});
  const size_t preamble = history.size();
  std::string line;
  for (int64_t turn = 0;; ++turn) {
    if (interactive) std::cerr << "> " << std::flush;
    if (!std::getline(std::cin, line)) break;
    const std::string message = trimmed(line);
    if (message.empty()) {
      --turn;
      continue;
    }
    if (message == "/quit" || message == "/exit") break;
    if (message == "/reset") {
      history.resize(preamble);
      std::cout << "(conversation reset)\n" << std::endl;
      --turn;
      continue;
    }
    history.push_back({"user", message});
    std::vector<int64_t> prompt;
    for (int32_t id : tokenizer.encode(text::apply_chat_template(history, true, thinking))) prompt.push_back(id);

    infer::Request turn_request;
    turn_request.index = turn;
    turn_request.ingest = message;
    if (dual.dual) dual.dual->begin_round(turn, {&turn_request});  // reads the message while the reply generates
    text::StreamDecoder decoder(tokenizer, /*skip_special_tokens=*/true);
    options.on_token = [&](size_t, int64_t token) { std::cout << decoder.push(static_cast<int32_t>(token)) << std::flush; };
    auto result = infer::generate_batch(*lm, {prompt}, options, false,
                                        {options.sampling.seed + static_cast<uint64_t>(turn)})
                      .front();
    std::cout << decoder.flush() << "\n" << std::endl;
    std::vector<int32_t> reply(result.tokens.begin(), result.tokens.end());
    if (result.stop_reason == "stop_token" && !reply.empty()) reply.pop_back();
    history.push_back({"assistant", tokenizer.decode(reply, /*skip_special_tokens=*/true)});
    ELM_LOG(debug) << "turn " << turn << ": " << prompt.size() << " prompt tokens, " << result.tokens.size()
                   << " new (" << result.stop_reason << ")";
    if (dual.dual) dual.dual->end_round(turn, MPI_COMM_NULL);  // the facts are in the bank for the next turn
  }
  if (dual.dual) {
    dual.dual->finish(MPI_COMM_NULL);
    if (!bank_out.empty()) {
      memory::save_bank(bank_out, *model.bank);
      ELM_LOG(info) << "updated bank saved to " << bank_out;
    }
  }
  return 0;
}

}  // namespace elm::app
