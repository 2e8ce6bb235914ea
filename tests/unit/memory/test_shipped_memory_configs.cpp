// The shipped configs assemble a working ExplicitLM end to end: knowledge base -> bank file ->
// bank reader -> memory layers over the reference tiny Qwen3.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "memory/bank.h"
#include "memory/explicit_lm.h"
#include "support/reference_data.h"
#include "support/test_paths.h"
#include "text/tokenizer.h"

namespace elm::memory {
namespace {

namespace fs = std::filesystem;

TEST(ShippedMemoryConfig, TinyConfigBuildsBankAndRunsExplicitLM) {
  const fs::path dir = testing::scratch_dir("memory", "shipped-config");
  std::ofstream(dir / "kb.json") << R"([{"sentence": "Paris is the capital of France."},
                                        {"sentence": "The Nile flows through Egypt."}])";
  Config config;
  config.load_file(std::string(ELM_SOURCE_DIR) + "/configs/tiny.toml");
  config.apply_override("model.database_init_path=" + (dir / "kb.json").string());
  config.apply_override("model.cache_path=" + (dir / "bank.h5").string());

  const auto& tokenizer = testing::qwen3_tokenizer();
  const MemoryBank bank = bank_from_config(config, tokenizer);
  EXPECT_EQ(bank.num_entries, 4096);
  EXPECT_EQ(bank.valid.sum().item<int64_t>(), 2);
  EXPECT_TRUE(fs::exists(dir / "bank.h5"));

  auto backbone = std::make_shared<const model::Qwen3Model>(
      model::Qwen3Model::load(testing::tiny_model_dir(), torch::kFloat32));
  auto reader = std::make_shared<LocalBankReader>(make_bank_reader(bank));
  auto lm = ExplicitLM::from_config(config, backbone, reader);
  EXPECT_EQ(lm.memory_layers(), std::vector<int64_t>{0});
  EXPECT_GT(lm.trainable_parameter_count(), 0);

  lm.eval();
  torch::NoGradGuard no_grad;
  const auto ids = torch::tensor(tokenizer.encode("Where does the Nile flow?"), torch::kInt64).unsqueeze(0);
  const auto out = lm.forward(ids);
  ASSERT_EQ(out.logits.sizes(), (std::vector<int64_t>{1, ids.size(1), 151936}));
  EXPECT_TRUE(torch::isfinite(out.logits).all().item<bool>());
  // Only the two valid entries can ever be selected.
  ASSERT_EQ(out.layers.size(), 1u);
  const auto chosen = out.layers[0].selected_indices;
  EXPECT_TRUE(((chosen == 0) | (chosen == 1) | (chosen == -1)).all().item<bool>()) << chosen;
}

TEST(ShippedMemoryConfig, ProductionConfigDescribesAOneMillionEntryGrid) {
  Config config;
  config.load_file(std::string(ELM_SOURCE_DIR) + "/configs/qwen3-4b.toml");
  EXPECT_EQ(config.get_int("model.knowledge_num"), 1024 * 1024);
  EXPECT_EQ(checked_grid_side(config.get_int("model.knowledge_num")), 1024);
  EXPECT_EQ(config.get_string("memory.query_pooling"), "causal_prefix");
}

}  // namespace
}  // namespace elm::memory
