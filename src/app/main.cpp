// explicitlm: the single executable; one subcommand per user task.
#include <iostream>

#include "app/commands.h"
#include "core/build_info.h"
#include "core/error.h"
#include "core/logging.h"

namespace elm::app {

int run_subcommand(const char* command, const Args& args, const char* usage, const std::vector<Subcommand>& subs) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    (args.empty() ? std::cerr : std::cout) << usage;
    return args.empty() ? 2 : 0;
  }
  for (const Subcommand& sub : subs) {
    if (args[0] == sub.name) return sub.run(Args(args.begin() + 1, args.end()));
  }
  std::cerr << "explicitlm " << command << ": unknown subcommand '" << args[0] << "'\n\n" << usage;
  return 2;
}

std::string take_leading_path(Args& args, const std::string& missing) {
  if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
    std::string path = args[0];
    args.erase(args.begin());
    return path;
  }
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") return "";
  }
  fail(missing);
}

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"tokenize", "text -> Qwen3 token ids (JSON)", run_tokenize},
      {"detokenize", "token ids -> text", run_detokenize},
      {"logits", "float32 logits of every position for a list of ids", run_logits},
      {"generate", "generate text: one prompt or a JSONL batch, plain Qwen3 or a trained ExplicitLM, on MPI ranks", run_generate},
      {"chat", "a conversation on stdin/stdout (chat template), plain Qwen3 or a trained ExplicitLM", run_chat},
      {"bank", "the memory bank file: build, show, find, set, stats", run_bank},
      {"synth", "synthetic knowledge for the bank demo: entities, facts, questions, counterfactuals", run_synth},
      {"train", "train one stage: router, fusion, joint or backbone (checkpoints, metrics, evaluation)", run_train},
      {"eval", "evaluate a trained run: knowledge with/without the bank and after edits, QA accuracy", run_eval},
      {"plan", "plan a run on N GPUs without weights: pipeline split, memory per rank, traffic, bubble", run_plan},
      {"ckpt", "a training checkpoint: inspect it, verify its checksums, export its parameters as safetensors", run_ckpt},
      {"plot-metrics", "PNG charts (loss, accuracy, alpha, coverage, lr) of a run's metrics.jsonl", run_plot_metrics},
      {"sweep", "a grid of config overrides as training runs: sweep expand SWEEP.toml", run_sweep},
      {"compare-runs", "final metrics of several runs in one sorted table, with comparison charts (PNG)", run_compare_runs},
      {"compress", "LLMLingua-2 compression of text (the fact extractor): kept words, per-word labels", run_compress},
      {"make-tiny-qwen3", "write a small random Qwen3 in HuggingFace layout", run_make_tiny_qwen3},
      {"make-tiny-classifier", "write a small random LLMLingua-2 token classifier (BERT or XLM-R) in HF layout",
       run_make_tiny_classifier},
      {"config", "print the resolved configuration, one value (--get), every key (--list) or docs (--reference)", run_config},
      {"info", "build, thread and GPU information", run_info},
  };
  return list;
}

namespace {

void print_usage(std::ostream& out) {
  out << "ExplicitLM " << ELM_VERSION << ": Qwen3 with an explicit, editable memory.\n\n"
      << "Usage: explicitlm COMMAND [options] [section.key=value ...]\n\nCommands:\n";
  for (const auto& c : commands()) {
    std::string name = c.name;
    out << "  " << name << std::string(name.size() < 18 ? 18 - name.size() : 1, ' ') << c.summary << "\n";
  }
  out << "\n`explicitlm COMMAND --help` describes a command, with examples. See README.md and docs/.\n";
}

}  // namespace
}  // namespace elm::app

int main(int argc, char** argv) {
  using namespace elm::app;
  if (argc < 2) {
    print_usage(std::cerr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(std::cout);
    return 0;
  }
  if (name == "--version") {
    std::cout << "explicitlm " << ELM_VERSION << "\n";
    return 0;
  }
  Args args(argv + 2, argv + argc);
  for (const auto& c : commands()) {
    if (name != c.name) continue;
    try {
      return c.run(args);
    } catch (const elm::Error& e) {
      ELM_LOG(error) << e.what();
      return 1;
    } catch (const std::exception& e) {
      ELM_LOG(error) << "internal error: " << e.what();
      return 1;
    }
  }
  std::cerr << "explicitlm: unknown command '" << name << "'\n\n";
  print_usage(std::cerr);
  return 2;
}
