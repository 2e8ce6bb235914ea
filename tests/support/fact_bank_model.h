#pragma once
// A small ExplicitLM over the real Qwen3 vocabulary with a bank of fact sentences, for the tests
// of the inference path's bank updates (the updater tokenises facts with the Qwen3 tokenizer, so
// the model's vocabulary must hold its ids). Deterministic: every call builds the same model.
#include <memory>

#include "memory/bank.h"
#include "memory/explicit_lm.h"
#include "support/small_explicit_lm.h"
#include "support/test_paths.h"

namespace elm::testing {

// 2 layers of hidden 32 (small_config) with the 151,936-token vocabulary, built once per process.
inline std::shared_ptr<const model::Qwen3Model> vocab_backbone() {
  static auto m = [] {
    auto c = small_config();
    c.vocab_size = 151936;
    c.num_hidden_layers = 2;
    return std::make_shared<const model::Qwen3Model>(c, model::random_qwen3_weights(c, 5), torch::kFloat32);
  }();
  return m;
}

// 64 entries of 16 tokens, 3 of them facts; memory after layer 0; eval mode.
struct FactBankModel {
  memory::MemoryBank bank;
  std::shared_ptr<memory::LocalBankReader> reader;
  std::unique_ptr<memory::ExplicitLM> lm;
  FactBankModel() {
    const auto& tok = qwen3_tokenizer();
    bank = memory::build_bank({"Pemar lives in Oslo.", "Kovi works as a pilot.", "Ludo likes green."}, tok, 64, 16,
                              memory::default_pad_id(tok));
    reader = std::make_shared<memory::LocalBankReader>(memory::make_bank_reader(bank));
    auto mc = small_memory(memory::QueryPooling::kCausalPrefix, 32, {0});
    mc.knowledge_length = 16;
    lm = std::make_unique<memory::ExplicitLM>(vocab_backbone(), reader, mc, 3);
    lm->eval();
  }
};

}  // namespace elm::testing
