// explicitlm make-tiny-qwen3: a small random Qwen3 in HF layout for tests, benchmarks and demos.
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli_args.h"
#include "app/commands.h"
#include "app/runtime.h"
#include "app/tokenizer_path.h"
#include "core/error.h"
#include "core/logging.h"
#include "model/tiny_qwen3.h"

namespace elm::app {

int run_make_tiny_qwen3(const Args& args) {
  ArgParser parser("make-tiny-qwen3", "--out DIR [shape options] [--dtype bf16|f32] [--seed S]",
                   "Writes config.json, model.safetensors (random weights, HF tensor names) and the Qwen3\n"
                   "tokenizer files into DIR. Defaults give the shape of the reference qwen3-tiny: hidden 64,\n"
                   "intermediate 160, 3 layers, 4 heads, 2 KV heads, head_dim 32, vocab 151936, tied embeddings.");
  parser.option("--out", "DIR", "output directory (created)")
      .option("--hidden-size", "N", "hidden_size (default 64)")
      .option("--intermediate-size", "N", "intermediate_size (default 160)")
      .option("--layers", "N", "num_hidden_layers (default 3)")
      .option("--heads", "N", "num_attention_heads (default 4)")
      .option("--kv-heads", "N", "num_key_value_heads (default 2)")
      .option("--head-dim", "N", "head_dim (default 32; may differ from hidden/heads)")
      .option("--vocab-size", "N", "vocab_size (default 151936, the Qwen3 tokenizer's)")
      .option("--max-positions", "N", "max_position_embeddings (default 4096)")
      .option("--rope-theta", "X", "rope_theta (default 1e6)")
      .flag("--untied", "write a separate lm_head.weight (tie_word_embeddings=false)")
      .option("--dtype", "NAME", "weights on disk: bf16 (default) or f32")
      .option("--seed", "S", "random seed (default 0)")
      .option("--embed-std", "X", "std of the token embedding (default 0.02, HF's; ~1/sqrt(hidden) for frozen tables)")
      .option("--tokenizer", "PATH", "tokenizer to copy in (default: the Qwen3 tokenizer from tools/setup.sh)")
      .flag("--no-tokenizer", "do not copy a tokenizer")
      .examples("  explicitlm make-tiny-qwen3 --out build/models/qwen3-tiny\n"
                "  explicitlm make-tiny-qwen3 --out /tmp/q --hidden-size 256 --layers 4 --heads 8 --kv-heads 2 "
                "--head-dim 64 --dtype f32");
  if (!parser.parse(args)) return 0;
  Config config = parser.config();
  start_runtime("make-tiny-qwen3", std::move(config));

  model::TinyQwen3Options options;
  auto& c = options.config;
  c.hidden_size = parser.get_int("--hidden-size", c.hidden_size);
  c.intermediate_size = parser.get_int("--intermediate-size", c.intermediate_size);
  c.num_hidden_layers = parser.get_int("--layers", c.num_hidden_layers);
  c.num_attention_heads = parser.get_int("--heads", c.num_attention_heads);
  c.num_key_value_heads = parser.get_int("--kv-heads", c.num_key_value_heads);
  c.head_dim = parser.get_int("--head-dim", c.head_dim);
  c.vocab_size = parser.get_int("--vocab-size", c.vocab_size);
  c.max_position_embeddings = parser.get_int("--max-positions", c.max_position_embeddings);
  c.rope_theta = parser.get_float("--rope-theta", c.rope_theta);
  c.tie_word_embeddings = !parser.has("--untied");
  options.dtype = parser.get_or("--dtype", "bf16");
  options.seed = static_cast<uint64_t>(parser.get_int("--seed", 0));
  options.embed_std = parser.get_float("--embed-std", options.embed_std);
  if (!parser.has("--no-tokenizer")) {
    options.tokenizer_dir = resolve_tokenizer_path(parser.get_or("--tokenizer", ""), "");
    ELM_CHECK(!options.tokenizer_dir.empty(),
              "no tokenizer to copy: run tools/setup.sh, pass --tokenizer PATH, or use --no-tokenizer");
  }
  const std::string out = parser.get("--out");
  const std::string weights = model::write_tiny_qwen3(out, options);
  ELM_LOG(info) << "wrote tiny Qwen3 to " << out;
  std::cout << nlohmann::json({{"out", out}, {"weights", weights}, {"hidden_size", c.hidden_size},
                               {"num_hidden_layers", c.num_hidden_layers}, {"vocab_size", c.vocab_size},
                               {"dtype", options.dtype}, {"seed", options.seed}})
                   .dump()
            << "\n";
  return 0;
}

}  // namespace elm::app
