// explicitlm synth: synthetic knowledge for the bank demo (entities, facts, questions,
// counterfactuals, a disjoint pretraining set), all from --seed. See docs/synth.md.
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli_args.h"
#include "app/commands.h"
#include "app/runtime.h"
#include "core/error.h"
#include "core/logging.h"
#include "train/synth.h"

namespace elm::app {

int run_synth(const Args& args) {
  ArgParser parser(
      "synth", "--out DIR [--seed S] [--entities N] [--disjoint-entities M] [--counterfactuals K] [--train-variants V]\n"
      "      [--router-variants R]",
      "Generates invented entities (made-up names; home city, profession, favourite colour) and writes\n"
      "into DIR: knowledge.json (one fact sentence per entity, the `bank build --kb` input), qa_train.jsonl\n"
      "and qa_heldout.jsonl (questions in train / held-out phrasings), pretrain.jsonl ({\"text\"} lines\n"
      "about a disjoint entity set, for teaching the backbone the question format), counterfactual.jsonl\n"
      "(the bank's entities with other attribute values, for edits), memory_train.jsonl (qa records with\n"
      "counterfactual bank overrides, for fusion/joint training), router_train.jsonl (router records),\n"
      "backbone_train.jsonl (qa records about the disjoint set, for the backbone stage),\n"
      "entities.json (the ground truth) and manifest.json. The same seed gives byte-identical files.");
  parser.option("--out", "DIR", "output directory (created)")
      .option("--seed", "S", "random seed (default 0)")
      .option("--entities", "N", "entities whose facts go into the bank (default 1000)")
      .option("--disjoint-entities", "M", "other entities for backbone pretraining (default 1000; 0 allowed)")
      .option("--counterfactuals", "K", "counterfactual variants per bank entity for edit evaluation (default 4; 0 allowed)")
      .option("--train-variants", "V", "random variants per bank entity in memory_train.jsonl (default 4; 0 allowed)")
      .option("--router-variants", "R",
              "router queries per bank entity that hold its name in random filler words (default 0)")
      .examples("  explicitlm synth --out /tmp/synth --seed 7\n"
                "  explicitlm synth --out /tmp/synth --seed 7 --entities 200 --disjoint-entities 300 --counterfactuals 2\n"
                "  explicitlm bank build --kb /tmp/synth/knowledge.json --knowledge-num 1024 --knowledge-length 16 "
                "--out /tmp/synth/bank.h5")
      .notes("Each fact sentence (\"Pundil lives in Lisbon, works as a pilot and likes green.\") fits in 16 Qwen3\n"
             "tokens. Question format: \"Question: Q\\nAnswer:\" followed by \" ANSWER\".");
  if (!parser.parse(args)) return 0;
  start_runtime("synth", parser.config());

  train::SynthOptions options;
  const int64_t seed = parser.get_int("--seed", 0);
  ELM_CHECK(seed >= 0, "synth: --seed must be >= 0 (got ", seed, ")");
  options.seed = static_cast<uint64_t>(seed);
  options.entities = parser.get_int("--entities", options.entities);
  options.disjoint_entities = parser.get_int("--disjoint-entities", options.disjoint_entities);
  options.counterfactuals = parser.get_int("--counterfactuals", options.counterfactuals);
  options.train_variants = parser.get_int("--train-variants", options.train_variants);
  options.router_variants = parser.get_int("--router-variants", options.router_variants);
  const std::string out = parser.get("--out");

  const train::SynthData data = train::generate_synth(options);
  const std::string manifest = train::write_synth(data, out);
  ELM_LOG(info) << "wrote " << data.entities.size() << " entities, " << data.disjoint.size()
                << " disjoint entities and " << data.counterfactuals.size() << " counterfactuals to " << out;
  nlohmann::json summary = nlohmann::json::parse(manifest);
  summary["out"] = out;
  std::cout << summary.dump() << "\n";
  return 0;
}

}  // namespace elm::app
