// explicitlm eval: evaluates a trained run (its resolved config and newest checkpoint) on a fresh,
// seeded set of questions. See docs/training.md ("Knowledge evaluation").
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli_args.h"
#include "app/commands.h"
#include "app/runtime.h"
#include "app/tokenizer_path.h"
#include "core/allocator.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/parse.h"
#include "memory/bank.h"
#include "memory/explicit_lm.h"
#include "model/qwen3_model.h"
#include "text/tokenizer.h"
#include "train/checkpoint.h"
#include "train/checkpointer.h"
#include "train/evaluation.h"
#include "train/knowledge_eval.h"

namespace elm::app {
namespace {

namespace fs = std::filesystem;

// The value of --run (or --run=DIR) before the parser runs: the run's config must be loaded first,
// below every command-line override.
std::string find_run_dir(const Args& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--run" && i + 1 < args.size()) return args[i + 1];
    if (args[i].rfind("--run=", 0) == 0) return args[i].substr(6);
  }
  return "";
}

}  // namespace

int run_eval(const Args& args) {
  ArgParser parser("eval", "--run DIR [--seed N] [--checkpoint PATH] [section.key=value ...]",
                   "Evaluates a trained run: loads RUN/config.resolved.toml (command-line overrides win) and the\n"
                   "memory components of the newest checkpoint in RUN (or --checkpoint), then\n"
                   "  - with eval.synth_dir: the knowledge evaluation on a fresh sample of entities and questions\n"
                   "    drawn from --seed: accuracy with the bank, with every entry invalid, and after editing\n"
                   "    entries to fresh values (edit_success);\n"
                   "  - with eval.qa_path: generative QA accuracy, router recall@k and hit rate.\n"
                   "The last stdout line is one JSON object. Nothing in RUN is modified.");
  parser.option("--run", "DIR", "the run directory of explicitlm train")
      .option("--seed", "N", "seed of the question sample and the edits (default: runtime.seed of the run)")
      .option("--checkpoint", "PATH", "a checkpoint file instead of the run's newest")
      .option("--tokenizer", "PATH", "tokenizer.json or directory (default: the model directory, else the shipped one)")
      .examples("  explicitlm eval --run build/demo/runs/joint --seed 123\n"
                "  explicitlm eval --run runs/joint eval.entities=1000 eval.judge=exact\n"
                "  explicitlm eval --run runs/joint eval.synth_dir= eval.qa_path=data/qa_heldout.jsonl");
  const std::string run = find_run_dir(args);
  Args with_config = args;
  if (!run.empty()) {
    const std::string resolved = run + "/config.resolved.toml";
    ELM_CHECK(fs::exists(resolved), "explicitlm eval: ", resolved, " does not exist (is ", run,
              " a run directory of explicitlm train?)");
    with_config.insert(with_config.begin(), {"--config", resolved});
  }
  if (!parser.parse(with_config)) return 0;
  ELM_CHECK(!run.empty(), "explicitlm eval: missing --run DIR");
  Config config = parser.config();
  // Evaluation writes nothing into the run: no run directory of its own.
  config.set("run.dir", std::string(), "explicitlm eval");
  if (auto v = parser.maybe("--seed")) config.set("runtime.seed", parse_int(*v, "--seed"), "command line");
  keep_freed_memory_for_reuse();  // large per-step temporaries: see core/allocator.h
  Runtime rt = start_runtime("eval", std::move(config));
  const Config& c = rt.config;

  const std::string checkpoint =
      parser.has("--checkpoint") ? parser.get("--checkpoint") : train::resolve_checkpoint_path(run);
  train::TrainingState state = train::read_checkpoint(checkpoint);
  ELM_CHECK(state.stage != "backbone",
            "explicitlm eval: ", checkpoint, " is a backbone-stage checkpoint; evaluate a router/fusion/joint run");

  const std::string model_dir = c.get_string("model.qwen3_model_path");
  const std::string tok_path = resolve_tokenizer_path(parser.get_or("--tokenizer", ""), model_dir);
  ELM_CHECK(!tok_path.empty(), "explicitlm eval: no tokenizer (pass --tokenizer or run tools/setup.sh)");
  const text::Tokenizer tokenizer = text::Tokenizer::load(tok_path);
  auto backbone = std::make_shared<model::Qwen3Model>(
      model::Qwen3Model::load(model_dir, model::parse_compute_dtype(c.get_string("model.dtype"))));
  memory::MemoryBank bank = memory::bank_from_config(c, tokenizer);
  auto reader = std::make_shared<memory::LocalBankReader>(memory::make_bank_reader(bank));
  memory::ExplicitLM lm = memory::ExplicitLM::from_config(c, backbone, reader);
  train::load_parameters(lm.named_trainable_parameters(), state.parameters, checkpoint, /*require_all=*/true);
  lm.eval();

  const uint64_t seed = static_cast<uint64_t>(c.get_int("runtime.seed"));
  nlohmann::json out;
  if (!c.get_string("eval.synth_dir").empty()) {
    out = train::evaluate_knowledge(lm, bank, tokenizer, train::KnowledgeEvalOptions::from_config(c, seed));
  }
  if (!c.get_string("eval.qa_path").empty()) {
    auto items = train::read_qa_items(c.get_string("eval.qa_path"));
    const int64_t max_examples = c.get_int("eval.max_examples");
    if (max_examples > 0 && static_cast<int64_t>(items.size()) > max_examples) items.resize(static_cast<size_t>(max_examples));
    auto opts = train::KnowledgeEvalOptions::from_config(c, seed).qa;
    auto r = train::evaluate_qa(&lm, *backbone, tokenizer, items, opts);
    out["qa_accuracy"] = r.accuracy;
    out["qa_questions"] = r.questions;
    out["qa_recall_at_k"] = r.recall_at_k;
    out["qa_hit_rate"] = r.hit_rate;
  }
  ELM_CHECK(!out.is_null(), "explicitlm eval: nothing to evaluate; set eval.synth_dir or eval.qa_path");
  out["seed"] = seed;
  out["steps"] = state.step;
  out["checkpoint"] = checkpoint;
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace elm::app
