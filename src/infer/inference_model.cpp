#include "infer/inference_model.h"

#include "core/error.h"
#include "core/logging.h"
#include "train/checkpoint.h"

namespace elm::infer {

std::unique_ptr<CausalLM> InferenceModel::causal_lm(bool use_memory) const {
  if (lm && use_memory) return std::make_unique<MemoryLM>(*lm);
  return std::make_unique<BackboneLM>(*backbone);
}

InferenceModel load_inference_model(const Config& c, const std::string& checkpoint, const std::string& tokenizer_path,
                                    const std::string& bank_path) {
  InferenceModel m;
  const std::string model_dir = c.get_string("model.qwen3_model_path");
  ELM_CHECK(!model_dir.empty(), "no backbone: model.qwen3_model_path is not set (pass --model DIR or --run DIR)");
  if (!tokenizer_path.empty()) m.tokenizer = text::Tokenizer::load(tokenizer_path);
  m.backbone = std::make_shared<model::Qwen3Model>(
      model::Qwen3Model::load(model_dir, model::parse_compute_dtype(c.get_string("model.dtype"))));
  if (checkpoint.empty()) return m;

  ELM_CHECK(m.tokenizer.has_value(), "a memory model needs a tokenizer for its bank (pass --tokenizer PATH)");
  train::CheckpointSelection parameters_only;
  parameters_only.optimizer = false;
  parameters_only.bank = false;
  train::TrainingState state = train::read_checkpoint_part(checkpoint, parameters_only);
  ELM_CHECK(state.stage != "backbone", checkpoint,
            " is a backbone-stage checkpoint (its model is RUN/backbone, a plain Qwen3: use --model)");
  if (bank_path.empty()) {
    m.bank = std::make_shared<memory::MemoryBank>(memory::bank_from_config(c, *m.tokenizer));
    m.bank_path = c.get_string("model.cache_path");
  } else {
    m.bank = std::make_shared<memory::MemoryBank>(memory::load_bank(bank_path, m.backbone->config().vocab_size));
    m.bank_path = bank_path;
  }
  m.reader = std::make_shared<memory::LocalBankReader>(memory::make_bank_reader(*m.bank));
  m.lm = std::make_unique<memory::ExplicitLM>(memory::ExplicitLM::from_config(c, m.backbone, m.reader));
  train::load_parameters(m.lm->named_trainable_parameters(), state.parameters, checkpoint, /*require_all=*/true);
  m.lm->eval();
  m.checkpoint = checkpoint;
  m.step = state.step;
  ELM_LOG(info) << "memory model: " << checkpoint << " (step " << state.step << "), bank "
                << (m.bank_path.empty() ? std::string("built in memory") : m.bank_path) << " ("
                << m.bank->num_entries << " entries)";
  return m;
}

}  // namespace elm::infer
