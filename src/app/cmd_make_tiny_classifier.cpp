// explicitlm make-tiny-classifier: a small random LLMLingua-2-style token classifier in HF layout.
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli_args.h"
#include "app/commands.h"
#include "app/runtime.h"
#include "core/error.h"
#include "core/logging.h"
#include "model/tiny_classifier.h"

namespace elm::app {

int run_make_tiny_classifier(const Args& args) {
  ArgParser parser("make-tiny-classifier", "--arch bert|xlm-roberta --out DIR [--seed S] [shape options]",
                   "Writes a random token classifier in HuggingFace layout into DIR: config.json\n"
                   "(BertForTokenClassification or XLMRobertaForTokenClassification, 2 labels), model.safetensors\n"
                   "(F32, HF tensor names) and tokenizer files with [NEW0]..[NEW99] added: a WordPiece vocabulary\n"
                   "in mBERT's id layout (tokenizer.json, vocab.txt) or a SentencePiece unigram model trained on a\n"
                   "built-in corpus (sentencepiece.bpe.model, added_tokens.json). A stand-in for the\n"
                   "microsoft/llmlingua-2-* checkpoints in tests; its labels are random.");
  parser.option("--arch", "NAME", "bert (mBERT-like) or xlm-roberta")
      .option("--out", "DIR", "output directory (created)")
      .option("--seed", "S", "random seed of the weights (default 0)")
      .option("--hidden-size", "N", "hidden_size (default 32)")
      .option("--layers", "N", "num_hidden_layers (default 2)")
      .option("--heads", "N", "num_attention_heads (default 2)")
      .option("--intermediate-size", "N", "intermediate_size (default 64)")
      .option("--classifier-std", "X", "std of the classifier weights (default 0.2: spread-out probabilities)")
      .examples("  explicitlm make-tiny-classifier --arch bert --out build/models/lingua-bert-tiny\n"
                "  explicitlm make-tiny-classifier --arch xlm-roberta --out /tmp/xlmr --seed 3 --hidden-size 64 --layers 3");
  if (!parser.parse(args)) return 0;
  Config config = parser.config();
  start_runtime("make-tiny-classifier", std::move(config));

  model::TinyClassifierOptions o;
  o.arch = parser.get("--arch");
  ELM_CHECK(o.arch == "bert" || o.arch == "xlm-roberta", "--arch must be bert or xlm-roberta, got '", o.arch, "'");
  o.seed = static_cast<uint64_t>(parser.get_int("--seed", 0));
  o.hidden_size = parser.get_int("--hidden-size", o.hidden_size);
  o.num_layers = parser.get_int("--layers", o.num_layers);
  o.num_heads = parser.get_int("--heads", o.num_heads);
  o.intermediate_size = parser.get_int("--intermediate-size", o.intermediate_size);
  o.classifier_std = parser.get_float("--classifier-std", o.classifier_std);
  const std::string out = parser.get("--out");
  const std::string weights = model::write_tiny_classifier(out, o);
  ELM_LOG(info) << "wrote tiny " << o.arch << " token classifier to " << out;
  std::cout << nlohmann::json({{"out", out}, {"weights", weights}, {"arch", o.arch}, {"seed", o.seed},
                               {"hidden_size", o.hidden_size}, {"num_hidden_layers", o.num_layers}})
                   .dump()
            << "\n";
  return 0;
}

}  // namespace elm::app
