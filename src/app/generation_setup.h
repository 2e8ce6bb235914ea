#pragma once
// What `generate` and `chat` share: their sampling flags folded into the config (so a run
// directory records what ran) and the generation options read back from it.
#include "app/cli_args.h"
#include "core/config.h"
#include "infer/generator.h"
#include "infer/inference_model.h"

namespace elm::app {

// --model, --dtype, --threads, --max-new-tokens, --temperature, --top-p, --top-k,
// --repetition-penalty, --seed, --greedy, --no-kv-cache, --chat, --thinking, --batch-size,
// --no-memory, --dual-path, --extractor, --extractor-model, --policy, --bank-out -> model.*,
// runtime.*, generation.*, extractor.*, inference.* (only the flags the parser declares and got).
void fold_generation_flags(const ArgParser& parser, Config& config);

// generation.* and runtime.seed as GenerateOptions; stop ids (Qwen3's eos and <|endoftext|>, and
// the tokenizer's <|im_end|> / <|endoftext|>) unless stop_at_eos is false; padding with the bank's
// pad id (or the model's bos) so padded positions never index outside the vocabulary.
infer::GenerateOptions generation_options(const Config& config, const infer::InferenceModel& model, bool stop_at_eos);

}  // namespace elm::app
