// The central table of config keys. Every key the program reads is registered here, once, with its
// type, default and one-line help; docs/config.md documents the same keys (a unit test checks that
// every key below appears there). To add a key: add a row in its section (or a new section at the
// end), read it with Config::get_*, and document it in docs/config.md.
#include "core/config_schema.h"

namespace elm {

void register_builtin_config_keys(ConfigSchema& s) {
  // [model] — the frozen backbone.
  s.add(key_string("model.qwen3_model_path", "",
                   "Hugging Face Qwen3 model directory (config.json, *.safetensors, tokenizer)"));
  s.add(key_string("model.dtype", "float32", "Weight and compute dtype")
            .one_of({"float32", "bfloat16"}));

  // [runtime] — process-wide settings.
  s.add(key_int("runtime.threads", 0,
                "CPU threads per process; 0 = OMP_NUM_THREADS if set, else all available cores")
            .at_least(0)
            .at_most(4096));
  s.add(key_int("runtime.seed", 42, "Random seed (sampling, initialisation, data order)"));

  // [logging]
  s.add(key_string("logging.level", "info", "Console log level (rank 0 only, on stderr)")
            .one_of({"trace", "debug", "info", "warning", "error"}));
  s.add(key_string("logging.file_level", "debug", "Log level of the per-rank file RUN/logs/rankN.log")
            .one_of({"trace", "debug", "info", "warning", "error"}));
  s.add(key_bool("logging.all_ranks_console", false,
                 "Every rank logs to the console, not only rank 0"));

  // [run] — where a run keeps its files.
  s.add(key_string("run.dir", "",
                   "Run directory (config.resolved.toml, logs/); empty = no run directory"));
  s.add(key_string("run.name", "", "Human-readable run name, recorded with the run"));

  // [generation] — text generation (explicitlm generate / chat).
  s.add(key_int("generation.max_new_tokens", 64, "Maximum number of tokens to generate")
            .at_least(0));
  s.add(key_bool("generation.greedy", false,
                 "Greedy decoding (argmax); ignores temperature, top_p and top_k"));
  s.add(key_float("generation.temperature", 0.6, "Sampling temperature; 0 = greedy").at_least(0));
  s.add(key_float("generation.top_p", 0.95, "Nucleus sampling: smallest token set with this mass")
            .greater_than(0)
            .at_most(1));
  s.add(key_int("generation.top_k", 20, "Sample from the k most likely tokens; 0 = no limit")
            .at_least(0));
  s.add(key_float("generation.repetition_penalty", 1.0,
                  "Penalty on tokens already generated (HF semantics); 1 = off")
            .greater_than(0));
  s.add(key_bool("generation.use_kv_cache", true,
                 "Reuse attention keys/values across steps (false recomputes the whole prefix)"));
  s.add(key_bool("generation.chat", false, "Wrap the prompt in the model's chat template"));
  s.add(key_bool("generation.enable_thinking", false,
                 "Chat template: let the model emit a <think> block first"));
}

}  // namespace elm
