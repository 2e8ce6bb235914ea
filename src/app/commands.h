#pragma once
// The subcommands of `explicitlm`, one file each (cmd_*.cpp). Each returns the process exit code
// and throws elm::Error for user errors (main prints the message and exits 1).
#include <string>
#include <vector>

namespace elm::app {

using Args = std::vector<std::string>;

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const Args& args);
};

int run_tokenize(const Args& args);
int run_detokenize(const Args& args);
int run_logits(const Args& args);
int run_generate(const Args& args);
int run_chat(const Args& args);
int run_make_tiny_qwen3(const Args& args);
int run_config(const Args& args);
int run_info(const Args& args);
int run_bank(const Args& args);
int run_synth(const Args& args);
int run_plot_metrics(const Args& args);
int run_train(const Args& args);
int run_eval(const Args& args);
int run_plan(const Args& args);
int run_ckpt(const Args& args);
int run_compress(const Args& args);
int run_make_tiny_classifier(const Args& args);
int run_sweep(const Args& args);
int run_compare_runs(const Args& args);

const std::vector<Command>& commands();

// A command with subcommands (`bank build`, `ckpt verify`, ...): runs the one named by args[0]
// with the rest. No subcommand prints `usage` to stderr and returns 2; --help / -h / help prints
// it to stdout and returns 0; an unknown one says so and returns 2.
struct Subcommand {
  const char* name;
  int (*run)(Args args);
};
int run_subcommand(const char* command, const Args& args, const char* usage, const std::vector<Subcommand>& subs);
// The file a subcommand works on, given as its first argument (`bank show BANK.h5 ...`): removed
// from `args` and returned; "" when it is absent but --help / -h was asked for; otherwise an
// elm::Error saying `missing`.
std::string take_leading_path(Args& args, const std::string& missing);

}  // namespace elm::app
