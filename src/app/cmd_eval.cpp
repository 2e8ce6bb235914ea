// explicitlm eval: evaluates a trained run (its resolved config and newest checkpoint) on a fresh,
// seeded set of questions. See docs/training.md ("Knowledge evaluation").
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli_args.h"
#include "app/commands.h"
#include "app/run_source.h"
#include "app/runtime.h"
#include "app/tokenizer_path.h"
#include "core/allocator.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/parse.h"
#include "infer/inference_model.h"
#include "infer/ingest_eval.h"
#include "train/evaluation.h"
#include "train/knowledge_eval.h"

namespace elm::app {

int run_eval(const Args& args) {
  ArgParser parser("eval", "(--run DIR [--checkpoint PATH] | --checkpoint PATH) [--seed N] [section.key=value ...]",
                   "Evaluates a trained run: loads RUN/config.resolved.toml (or, with --checkpoint alone, the config\n"
                   "stored in the checkpoint; command-line overrides win) and the memory components of the newest\n"
                   "checkpoint in RUN (or --checkpoint), then\n"
                   "  - with eval.synth_dir: the knowledge evaluation on a fresh sample of entities and questions\n"
                   "    drawn from --seed: accuracy with the bank, with every entry invalid, and after editing\n"
                   "    entries to fresh values (edit_success);\n"
                   "  - with eval.ingest_facts / eval.ingest_new_entities: facts read through the inference dual path\n"
                   "    (changed facts with policy similarity, never-seen entities with policy route), then asked;\n"
                   "  - with eval.qa_path: generative QA accuracy, router recall@k and hit rate.\n"
                   "The last stdout line is one JSON object. Nothing in RUN is modified.");
  parser.option("--run", "DIR", "the run directory of explicitlm train")
      .option("--seed", "N", "seed of the question sample and the edits (default: runtime.seed of the run)")
      .option("--checkpoint", "PATH", "a checkpoint file instead of the run's newest")
      .option("--tokenizer", "PATH", "tokenizer.json or directory (default: the model directory, else the shipped one)")
      .examples("  explicitlm eval --run build/demo/runs/joint --seed 123\n"
                "  explicitlm eval --run runs/joint eval.entities=1000 eval.judge=exact\n"
                "  explicitlm eval --run runs/joint eval.synth_dir= eval.qa_path=data/qa_heldout.jsonl");
  const RunSource source = find_run_source(args);
  use_run_config(parser, source);
  if (!parser.parse(args)) return 0;
  ELM_CHECK(!source.empty(), "explicitlm eval: missing --run DIR (or --checkpoint PATH)");
  Config config = parser.config();
  // Evaluation writes nothing into the run: no run directory of its own.
  config.set("run.dir", std::string(), "explicitlm eval");
  if (auto v = parser.maybe("--seed")) config.set("runtime.seed", parse_int(*v, "--seed"), "command line");
  keep_freed_memory_for_reuse();  // large per-step temporaries: see core/allocator.h
  Runtime rt = start_runtime("eval", std::move(config));
  const Config& c = rt.config;

  const std::string tok_path =
      resolve_tokenizer_path(parser.get_or("--tokenizer", ""), c.get_string("model.qwen3_model_path"));
  ELM_CHECK(!tok_path.empty(), "explicitlm eval: no tokenizer (pass --tokenizer or run tools/setup.sh)");
  infer::InferenceModel model = infer::load_inference_model(c, source.checkpoint, tok_path);
  memory::ExplicitLM& lm = *model.lm;
  const memory::MemoryBank& bank = *model.bank;
  const text::Tokenizer& tokenizer = *model.tokenizer;

  const uint64_t seed = static_cast<uint64_t>(c.get_int("runtime.seed"));
  nlohmann::json out;
  if (!c.get_string("eval.synth_dir").empty()) {
    out = train::evaluate_knowledge(lm, bank, tokenizer, train::KnowledgeEvalOptions::from_config(c, seed));
  }
  if (c.get_int("eval.ingest_facts") > 0 || c.get_int("eval.ingest_new_entities") > 0) {
    // After the knowledge evaluation: it restores the bank it changes.
    out.update(infer::evaluate_ingest(model, c, infer::IngestEvalOptions::from_config(c, seed)));
  }
  if (!c.get_string("eval.qa_path").empty()) {
    auto items = train::read_qa_items(c.get_string("eval.qa_path"));
    const int64_t max_examples = c.get_int("eval.max_examples");
    if (max_examples > 0 && static_cast<int64_t>(items.size()) > max_examples) items.resize(static_cast<size_t>(max_examples));
    auto opts = train::KnowledgeEvalOptions::from_config(c, seed).qa;
    auto r = train::evaluate_qa(&lm, *model.backbone, tokenizer, items, opts);
    out["qa_accuracy"] = r.accuracy;
    out["qa_questions"] = r.questions;
    out["qa_recall_at_k"] = r.recall_at_k;
    out["qa_hit_rate"] = r.hit_rate;
  }
  ELM_CHECK(!out.is_null(), "explicitlm eval: nothing to evaluate; set eval.synth_dir or eval.qa_path");
  out["seed"] = seed;
  out["steps"] = model.step;
  out["checkpoint"] = model.checkpoint;
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace elm::app
