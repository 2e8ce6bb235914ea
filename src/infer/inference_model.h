#pragma once
// A model loaded for inference: a plain Qwen3 (no checkpoint), or an ExplicitLM whose memory
// components come from a training checkpoint and whose bank is the run's bank file (or another
// bank file given explicitly, e.g. one saved by an earlier `generate --bank-out`).
//
//   auto m = infer::load_inference_model(config, checkpoint, tokenizer_path, bank_path);
//   auto lm = m.causal_lm();        // MemoryLM over m.lm, or BackboneLM for a plain Qwen3
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/config.h"
#include "infer/causal_lm.h"
#include "memory/bank.h"
#include "memory/explicit_lm.h"
#include "model/qwen3_model.h"
#include "text/tokenizer.h"

namespace elm::infer {

struct InferenceModel {
  std::shared_ptr<model::Qwen3Model> backbone;
  std::optional<text::Tokenizer> tokenizer;
  // Memory models only (null for a plain Qwen3):
  std::shared_ptr<memory::MemoryBank> bank;             // the authoritative copy, with texts
  std::shared_ptr<memory::LocalBankReader> reader;      // what the memory layers read
  std::unique_ptr<memory::ExplicitLM> lm;
  std::string checkpoint;   // "" for a plain Qwen3
  std::string bank_path;    // the file the bank came from
  int64_t step = 0;         // the checkpoint's training step

  bool has_memory() const { return lm != nullptr; }
  // A CausalLM over the ExplicitLM (memory read at every position), or over the backbone when the
  // model has no memory or `use_memory` is false.
  std::unique_ptr<CausalLM> causal_lm(bool use_memory = true) const;
};

// checkpoint "": model.qwen3_model_path as a plain Qwen3. Otherwise the backbone of the config,
// the trainable memory parameters of the checkpoint (all of them must be present; a backbone-stage
// checkpoint is an error), and the bank from `bank_path` when non-empty, else from the config
// (model.cache_path, rebuilt from model.database_init_path when stale). The model is in eval mode.
// tokenizer_path "" leaves the tokenizer unset (a plain Qwen3 driven by token ids); a memory model
// needs one. Errors name the file, the key or the tensor.
InferenceModel load_inference_model(const Config& config, const std::string& checkpoint,
                                    const std::string& tokenizer_path, const std::string& bank_path = "");

}  // namespace elm::infer
