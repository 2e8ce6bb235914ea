// explicitlm generate: text generation with a KV cache, greedy or sampled, optional chat template,
// on a plain Qwen3 or a trained ExplicitLM (memory read at every decoded token); one prompt, or a
// JSONL file of prompts in batches, split over MPI ranks.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "app/cli_args.h"
#include "app/commands.h"
#include "app/generation_setup.h"
#include "app/run_source.h"
#include "app/runtime.h"
#include "app/tokenizer_path.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/logging.h"
#include "dist/abort.h"
#include "dist/mpi_env.h"
#include "infer/dual_path_setup.h"
#include "infer/inference_model.h"
#include "infer/requests.h"
#include "infer/serving.h"
#include "text/tokenizer.h"

namespace elm::app {
namespace {

// The requests of this run: --prompt, --ids or --prompts FILE.
std::vector<infer::Request> make_requests(const ArgParser& p, const Config& c, const text::Tokenizer* tokenizer) {
  infer::RequestFormat format{c.get_bool("generation.chat"), c.get_bool("generation.enable_thinking")};
  if (auto file = p.maybe("--prompts")) return infer::read_requests(*file, tokenizer, format);
  if (auto text = p.maybe("--prompt")) {
    ELM_CHECK(tokenizer != nullptr, "--prompt needs a tokenizer: pass --tokenizer PATH or use --ids");
    return {infer::make_text_request(*text, *tokenizer, format)};
  }
  ELM_CHECK(!format.chat, "--chat needs --prompt text (or --prompts with \"prompt\" lines)");
  infer::Request r;
  r.ids = parse_id_list(p.get("--ids"), "--ids");
  ELM_CHECK(!r.ids.empty(), "explicitlm generate: the prompt is empty");
  return {r};
}

// Files are written once, at the end: fail before generating when one cannot be.
void check_output_path(const char* option, const std::string& path) {
  if (path.empty()) return;
  const auto dir = std::filesystem::absolute(path).parent_path();
  ELM_CHECK(std::filesystem::is_directory(dir), option, " ", path, ": directory ", dir.string(), " does not exist");
}

// Where responses go: JSONL lines to --output (written atomically at the end) or stdout; a single
// prompt without --output streams its text instead.
class ResponseSink {
 public:
  ResponseSink(std::string output, bool jsonl_to_stdout) : output_(std::move(output)), stdout_(jsonl_to_stdout) {}
  void add(const infer::Response& r) {
    const std::string line = r.to_json().dump();
    if (!output_.empty()) {
      lines_ += line + "\n";
    } else if (stdout_) {
      std::cout << line << std::endl;
    }
  }
  void finish() const {
    if (!output_.empty()) write_file_atomic(output_, lines_);
  }

 private:
  std::string output_, lines_;
  bool stdout_;
};

int generate_ranks(const ArgParser& parser, Config config, const RunSource& source, int rank, int ranks) {
  keep_out_of_training_run(config, source);
  fold_generation_flags(parser, config);
  Runtime rt = start_runtime("generate", std::move(config));
  const Config& c = rt.config;

  const std::string tok_path = resolve_tokenizer_path(parser.get_or("--tokenizer", ""), c.get_string("model.qwen3_model_path"));
  infer::InferenceModel model =
      infer::load_inference_model(c, source.checkpoint, tok_path, parser.get_or("--bank", ""));
  const text::Tokenizer* tokenizer = model.tokenizer ? &*model.tokenizer : nullptr;
  const std::vector<infer::Request> requests = make_requests(parser, c, tokenizer);
  infer::GenerateOptions options = generation_options(c, model, !parser.has("--ignore-eos"));
  auto lm = model.causal_lm(c.get_bool("generation.use_memory"));

  const bool many = parser.has("--prompts");
  const std::string output = parser.get_or("--output", "");
  check_output_path("--output", output);
  // One prompt on one rank streams its text as it is generated (unless --no-stream or --output).
  const bool stream = !many && ranks == 1 && tokenizer && output.empty() && !parser.has("--no-stream");
  std::optional<text::StreamDecoder> decoder;
  if (stream) {
    decoder.emplace(*tokenizer);
    options.on_token = [&](size_t, int64_t token) { std::cout << decoder->push(static_cast<int32_t>(token)) << std::flush; };
  }

  // The dual path: every rank holds the whole bank and applies every rank's facts in one order.
  infer::DualPathSetup dual;
  if (c.get_bool("inference.dual_path")) {
    dual = infer::make_dual_path(model, dynamic_cast<infer::MemoryLM*>(lm.get()), c);
  }
  const std::string bank_out = c.get_string("inference.bank_out");
  const std::string updates_out = parser.get_or("--updates-out", "");
  ELM_CHECK(dual.dual || (bank_out.empty() && updates_out.empty()),
            "--bank-out and --updates-out need the dual path (--dual-path)");
  check_output_path("--bank-out", bank_out);
  check_output_path("--updates-out", updates_out);

  ResponseSink sink(output, many);
  infer::ServeOptions serve;
  serve.batch_size = c.get_int("generation.batch_size");
  serve.generate = options;
  std::vector<int64_t> last_tokens;
  std::string last_text;
  serve.on_response = [&](const infer::Response& r) {
    sink.add(r);
    last_tokens = r.tokens;
    last_text = r.text;
  };
  ELM_LOG(info) << requests.size() << " prompt(s) on " << ranks << " rank(s), batches of " << serve.batch_size
                << "; up to " << options.max_new_tokens << " new tokens each"
                << (options.use_kv_cache ? " with" : " without") << " the KV cache"
                << (model.has_memory() && c.get_bool("generation.use_memory") ? ", memory on" : "");
  infer::ServeSummary summary = infer::serve(*lm, requests, serve, MPI_COMM_WORLD, tokenizer, dual.dual.get());
  if (rank != 0) return 0;
  sink.finish();
  if (dual.dual) {
    if (!bank_out.empty()) {
      memory::save_bank(bank_out, *model.bank);
      ELM_LOG(info) << "updated bank saved to " << bank_out;
    }
    if (!updates_out.empty()) {
      std::string lines;
      for (const auto& u : dual.dual->updates()) lines += u.dump() + "\n";
      write_file_atomic(updates_out, lines);
    }
    ELM_LOG(info) << "dual path: " << dual.dual->updates().size() << " bank update(s) on " << ranks
                  << " replica(s); bank checksum " << dual.dual->last_checksum();
  }
  if (!many) {
    if (decoder) {
      std::cout << decoder->flush() << "\n";
    } else if (tokenizer && output.empty()) {
      std::cout << last_text << "\n";
    }
    if (parser.has("--print-ids")) std::cout << nlohmann::json(last_tokens).dump() << std::endl;
  }
  ELM_LOG(info) << "generated " << summary.new_tokens << " tokens for " << summary.requests << " prompt(s) in "
                << summary.round_count << " round(s), " << summary.seconds << " s ("
                << summary.new_tokens / std::max(summary.generate_seconds, 1e-9) << " tok/s on rank 0)";
  return 0;
}

}  // namespace

int run_generate(const Args& args) {
  ArgParser parser("generate",
                   "(--model DIR | --run DIR | --checkpoint PATH) (--prompt S | --ids 1,2,3 | --prompts FILE.jsonl)\n"
                   "       [--output FILE.jsonl] [--max-new-tokens N] [--greedy | --temperature T --top-p P --top-k K "
                   "--seed S] [--chat] [--no-kv-cache] [--print-ids]",
                   "Generates text: one prefill over the prompt, then one token per step with the KV cache\n"
                   "(or, with --no-kv-cache, by recomputing the whole sequence each step).\n"
                   "  --model DIR        a plain HuggingFace Qwen3\n"
                   "  --run DIR          a trained ExplicitLM: the run's config, its newest checkpoint and its\n"
                   "                     bank; every decoded token reads the bank (causal query pooling)\n"
                   "  --checkpoint PATH  the same from one checkpoint file (its stored config)\n"
                   "One prompt streams its text to stdout as it is generated. --prompts FILE.jsonl serves many\n"
                   "(one {\"prompt\": ...}, {\"messages\": [...]} or {\"ids\": [...]} per line, optional \"id\") in\n"
                   "batches of generation.batch_size and writes one JSON result per line, in input order, to\n"
                   "--output (atomically) or stdout. Under mpirun/srun the prompts are split over the ranks.\n"
                   "Generation stops at <|im_end|> or <|endoftext|> unless --ignore-eos. Timing goes to the log.\n"
                   "--dual-path: while a round of requests generates, a worker thread turns their text (or their\n"
                   "\"ingest\" field) into facts (LLMLingua-2 with --extractor-model, or --extractor passthrough;\n"
                   "then a sentence split; questions are not facts) and the bank updater writes them by\n"
                   "inference.update_policy before the next round; on several ranks every replica applies every\n"
                   "rank's facts in one order and a bank checksum proves them identical (docs/inference.md).");
  parser.option("--model", "DIR", "HF Qwen3 directory (model.qwen3_model_path)")
      .option("--run", "DIR", "run directory of explicitlm train (memory stages)")
      .option("--checkpoint", "PATH", "checkpoint file (default with --run: the run's newest)")
      .option("--bank", "FILE", "bank file to read instead of the run's (e.g. one saved by --bank-out)")
      .option("--prompt", "S", "prompt text (needs a tokenizer)")
      .option("--ids", "LIST", "prompt token ids instead of text")
      .option("--prompts", "FILE", "JSONL file of prompts (see above)")
      .option("--output", "FILE", "write the JSONL results here instead of stdout")
      .option("--batch-size", "N", "prompts per batch per rank (generation.batch_size, default 8)")
      .option("--tokenizer", "PATH", "tokenizer.json or directory (default: the model directory, else the shipped one)")
      .option("--max-new-tokens", "N", "tokens to generate (generation.max_new_tokens, default 64)")
      .flag("--greedy", "argmax decoding (generation.greedy)")
      .option("--temperature", "T", "sampling temperature (default 0.6; 0 = greedy)")
      .option("--top-p", "P", "nucleus sampling mass (default 0.95)")
      .option("--top-k", "K", "keep the K most likely tokens (default 20; 0 = off)")
      .option("--repetition-penalty", "R", "HF repetition penalty (default 1.0 = off)")
      .option("--seed", "S", "sampling seed (runtime.seed); prompt i samples with seed + i")
      .flag("--chat", "wrap each text prompt in the Qwen3 chat template as a user message")
      .flag("--thinking", "with --chat: leave thinking enabled (default appends an empty <think></think>)")
      .flag("--no-memory", "a memory model generates with its backbone alone (generation.use_memory=false)")
      .flag("--dual-path", "read each request's text into facts and write them into the bank (inference.dual_path)")
      .option("--extractor", "K", "dual path: llmlingua2 (default; needs --extractor-model) or passthrough (extractor.kind)")
      .option("--extractor-model", "DIR", "dual path: the LLMLingua-2 token classifier (extractor.model_path)")
      .option("--policy", "P", "dual path: fifo|lru|random|similarity|importance|route (inference.update_policy)")
      .option("--bank-out", "FILE", "dual path: save the updated bank here at the end (inference.bank_out)")
      .option("--updates-out", "FILE", "dual path: write every bank update (indices, old and new text) as JSONL")
      .flag("--no-kv-cache", "recompute the full sequence every step (baseline; same tokens, slower)")
      .flag("--ignore-eos", "do not stop at end-of-sequence tokens")
      .flag("--print-ids", "one prompt: print the new token ids as a JSON array on the last line")
      .flag("--no-stream", "one prompt: print the text once at the end instead of token by token")
      .option("--dtype", "NAME", "compute dtype: float32 (default) or bfloat16")
      .option("--threads", "N", "CPU threads (runtime.threads)")
      .examples("  explicitlm generate --model build/models/qwen3-tiny --prompt \"The capital of France is\" "
                "--max-new-tokens 16 --greedy\n"
                "  explicitlm generate --model DIR --ids 9707,11 --max-new-tokens 24 --greedy --print-ids\n"
                "  explicitlm generate --model DIR --prompt \"Tell me a joke\" --chat --temperature 0.7 --seed 1\n"
                "  explicitlm generate --run build/demo/seed0/runs/joint --prompt $'Question: Where does Pemar live?\\nAnswer:'"
                " --greedy --max-new-tokens 4\n"
                "  explicitlm generate --run runs/joint --prompts prompts.jsonl --output results.jsonl --batch-size 8\n"
                "  mpirun -np 3 explicitlm generate --run runs/joint --prompts prompts.jsonl --output results.jsonl\n"
                "  explicitlm generate --run runs/joint --prompts news.jsonl --dual-path --extractor passthrough --policy similarity "
                "--bank-out bank2.h5 --updates-out updates.jsonl");
  const RunSource source = find_run_source(args);
  use_run_config(parser, source);
  if (!parser.parse(args)) return 0;
  const int modes = static_cast<int>(parser.has("--prompt")) + static_cast<int>(parser.has("--ids")) +
                    static_cast<int>(parser.has("--prompts"));
  ELM_CHECK(modes == 1, "explicitlm generate: give exactly one of --prompt, --ids or --prompts");
  ELM_CHECK(!(parser.has("--model") && !source.empty()),
            "explicitlm generate: --model is a plain Qwen3; --run/--checkpoint already name the backbone "
            "(override it with model.qwen3_model_path=DIR)");
  dist::MpiEnvironment mpi;
  try {
    dist::check_slurm_world_size();
    return generate_ranks(parser, parser.config(), source, mpi.world_rank(), mpi.world_size());
  } catch (const std::exception& e) {
    if (mpi.world_size() > 1) dist::abort_all(e.what());
    throw;
  }
}

}  // namespace elm::app
