// Properties of the Qwen3 forward that the reference data does not cover: KV cache, padding,
// untied heads, bf16 storage round trips, and errors on malformed checkpoints.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/safetensors.h"
#include "model/qwen3_model.h"
#include "model/tiny_qwen3.h"
#include "support/test_paths.h"

namespace elm {
namespace {

namespace fs = std::filesystem;

model::Qwen3Config small_config() {
  model::Qwen3Config c = model::TinyQwen3Options::tiny_qwen3_config();
  c.vocab_size = 512;
  c.hidden_size = 48;
  c.intermediate_size = 96;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 6;
  c.num_key_value_heads = 2;
  c.head_dim = 16;  // != 48 / 6
  c.max_position_embeddings = 256;
  return c;
}

model::Qwen3Model small_model(bool tied = true, uint64_t seed = 3) {
  auto c = small_config();
  c.tie_word_embeddings = tied;
  return model::Qwen3Model(c, model::random_qwen3_weights(c, seed), torch::kFloat32);
}

torch::Tensor ids_tensor(const std::vector<int64_t>& ids) { return torch::tensor(ids, torch::kInt64).unsqueeze(0); }

fs::path temp_dir(const std::string& name) { return testing::scratch_dir("model", name); }

TEST(Qwen3Model, PrefillPlusIncrementalDecodeEqualsFullForward) {
  torch::InferenceMode guard;
  const auto m = small_model();
  const std::vector<int64_t> ids = {5, 17, 300, 42, 7, 99, 123, 8, 64, 1};
  const auto full = m.forward(ids_tensor(ids)).logits[0];
  auto cache = m.new_cache(1, 32);
  model::ForwardOptions opts;
  opts.cache = &cache;
  // Prefill 4 tokens, then a chunk of 3, then single tokens.
  std::vector<torch::Tensor> rows;
  rows.push_back(m.forward(ids_tensor({ids.begin(), ids.begin() + 4}), opts).logits[0]);
  rows.push_back(m.forward(ids_tensor({ids.begin() + 4, ids.begin() + 7}), opts).logits[0]);
  for (size_t i = 7; i < ids.size(); ++i) rows.push_back(m.forward(ids_tensor({ids[i]}), opts).logits[0]);
  const auto incremental = torch::cat(rows, 0);
  EXPECT_EQ(cache.length(), static_cast<int64_t>(ids.size()));
  EXPECT_LT((incremental - full).abs().max().item<double>(), 1e-5);
}

TEST(Qwen3Model, LeftPaddedBatchEqualsUnbatchedRows) {
  torch::InferenceMode guard;
  const auto m = small_model();
  const std::vector<int64_t> a = {11, 12, 13, 14, 15, 16}, b = {21, 22, 23};
  const auto la = m.forward(ids_tensor(a)).logits[0];
  const auto lb = m.forward(ids_tensor(b)).logits[0];
  auto batch = torch::tensor({11, 12, 13, 14, 15, 16, 0, 0, 0, 21, 22, 23}, torch::kInt64).view({2, 6});
  auto mask = torch::tensor({1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1}, torch::kInt64).view({2, 6});
  model::ForwardOptions opts;
  opts.attention_mask = mask;
  const auto out = m.forward(batch, opts).logits;
  EXPECT_LT((out[0] - la).abs().max().item<double>(), 1e-5);
  EXPECT_LT((out[1].narrow(0, 3, 3) - lb).abs().max().item<double>(), 1e-5);
  EXPECT_FALSE(out.isnan().any().item<bool>()) << "padding rows must not produce NaN";

  // kLast picks the last real token of each row, also with right padding.
  auto right = torch::tensor({21, 22, 23, 0, 0, 0}, torch::kInt64).view({1, 6});
  model::ForwardOptions last;
  last.attention_mask = torch::tensor({1, 1, 1, 0, 0, 0}, torch::kInt64).view({1, 6});
  last.logits = model::LogitsMode::kLast;
  EXPECT_LT((m.forward(right, last).logits[0] - lb[2]).abs().max().item<double>(), 1e-5);
}

TEST(Qwen3Model, BatchedDecodeWithCacheAndPaddingEqualsSingleRows) {
  torch::InferenceMode guard;
  const auto m = small_model();
  const std::vector<int64_t> a = {31, 32, 33, 34}, b = {41, 42};
  auto cache = m.new_cache(2, 16);
  model::ForwardOptions opts;
  opts.cache = &cache;
  opts.attention_mask = torch::tensor({1, 1, 1, 1, 0, 0, 1, 1}, torch::kInt64).view({2, 4});
  opts.logits = model::LogitsMode::kLast;
  m.forward(torch::tensor({31, 32, 33, 34, 0, 0, 41, 42}, torch::kInt64).view({2, 4}), opts);
  opts.attention_mask = torch::ones({2, 1}, torch::kInt64);
  const auto step = m.forward(torch::tensor({50, 60}, torch::kInt64).view({2, 1}), opts).logits;
  const auto ra = m.forward(ids_tensor({31, 32, 33, 34, 50})).logits[0][-1];
  const auto rb = m.forward(ids_tensor({41, 42, 60})).logits[0][-1];
  EXPECT_LT((step[0] - ra).abs().max().item<double>(), 1e-5);
  EXPECT_LT((step[1] - rb).abs().max().item<double>(), 1e-5);
}

TEST(Qwen3Model, CausalityAppendingTokensNeverChangesEarlierLogits) {
  torch::InferenceMode guard;
  const auto m = small_model();
  const auto short_run = m.forward(ids_tensor({1, 2, 3})).logits[0];
  const auto long_run = m.forward(ids_tensor({1, 2, 3, 4, 5})).logits[0];
  EXPECT_LT((long_run.narrow(0, 0, 3) - short_run).abs().max().item<double>(), 1e-6);
}

TEST(Qwen3Model, UntiedLmHeadIsUsedAfterSaveAndLoad) {
  torch::InferenceMode guard;
  auto c = small_config();
  c.tie_word_embeddings = false;
  const auto dir = temp_dir("untied");
  model::TinyQwen3Options options;
  options.config = c;
  options.dtype = "f32";
  options.seed = 9;
  model::write_tiny_qwen3(dir.string(), options);
  const auto loaded = model::Qwen3Model::load(dir.string(), torch::kFloat32);
  ASSERT_TRUE(loaded.weights().lm_head.defined());
  const auto out = loaded.forward(ids_tensor({3, 4, 5}));
  const auto manual = torch::matmul(out.hidden[0], loaded.weights().lm_head.t());
  EXPECT_LT((out.logits[0] - manual).abs().max().item<double>(), 1e-5);
  const auto tied_guess = torch::matmul(out.hidden[0], loaded.weights().embed_tokens.t());
  EXPECT_GT((out.logits[0] - tied_guess).abs().max().item<double>(), 1e-3);
  // The saved f32 weights reload bit-exactly.
  const auto original = model::random_qwen3_weights(c, 9);
  EXPECT_TRUE(torch::equal(loaded.weights().layers[1].k_proj, original.layers[1].k_proj));
}

TEST(Qwen3Model, Bf16SaveRoundsToNearestAndReloads) {
  auto c = small_config();
  const auto dir = temp_dir("bf16");
  model::TinyQwen3Options options;
  options.config = c;
  options.seed = 4;
  model::write_tiny_qwen3(dir.string(), options);
  const auto loaded = model::Qwen3Model::load(dir.string(), torch::kFloat32);
  const auto original = model::random_qwen3_weights(c, 4);
  const auto expected = original.layers[0].q_proj.to(torch::kBFloat16).to(torch::kFloat32);
  EXPECT_TRUE(torch::equal(loaded.weights().layers[0].q_proj, expected));
}

TEST(Qwen3Model, ShardedCheckpointLoadsLikeASingleFile) {
  torch::InferenceMode guard;
  const auto single = temp_dir("single");
  model::TinyQwen3Options options;
  options.config = small_config();
  options.dtype = "f32";
  options.seed = 11;
  model::write_tiny_qwen3(single.string(), options);

  // Split the same tensors over two shards with an HF index, as large checkpoints ship.
  const auto sharded = temp_dir("sharded");
  fs::copy_file(single / "config.json", sharded / "config.json");
  auto ckpt = io::SafetensorsCheckpoint::open(single.string());
  std::vector<io::TensorToWrite> shard[2];
  nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
  const auto names = ckpt.names();
  for (size_t i = 0; i < names.size(); ++i) {
    const auto& info = ckpt.info(names[i]);
    const int s = i % 2;
    shard[s].push_back({names[i], info.dtype, info.shape, ckpt.raw(names[i])});
    index["weight_map"][names[i]] = "model-0000" + std::to_string(s + 1) + "-of-00002.safetensors";
  }
  for (int s = 0; s < 2; ++s) {
    io::write_safetensors((sharded / ("model-0000" + std::to_string(s + 1) + "-of-00002.safetensors")).string(),
                          shard[s]);
  }
  std::ofstream(sharded / "model.safetensors.index.json") << index.dump(2);

  const auto a = model::Qwen3Model::load(single.string(), torch::kFloat32);
  const auto b = model::Qwen3Model::load(sharded.string(), torch::kFloat32);
  const auto ids = ids_tensor({7, 8, 9, 10});
  EXPECT_TRUE(torch::equal(a.forward(ids).logits, b.forward(ids).logits));
}

TEST(Qwen3Model, TokenOutsideVocabularyIsAnError) {
  const auto m = small_model();
  EXPECT_THROW(m.forward(ids_tensor({1, 512})), Error);
  EXPECT_THROW(m.forward(ids_tensor({-1})), Error);
}

TEST(Qwen3Model, KvCacheOverflowIsAnError) {
  const auto m = small_model();
  auto cache = m.new_cache(1, 4);
  model::ForwardOptions opts;
  opts.cache = &cache;
  m.forward(ids_tensor({1, 2, 3}), opts);
  EXPECT_THROW(m.forward(ids_tensor({4, 5}), opts), Error);
}

// ----- malformed checkpoints -----

class BadCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    model::TinyQwen3Options options;
    options.config = small_config();
    model::write_tiny_qwen3(dir_.string(), options);
  }
  void write_config(const std::string& text) { std::ofstream(dir_ / "config.json") << text; }
  std::string load_error() {
    try {
      model::Qwen3Model::load(dir_.string(), torch::kFloat32);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  fs::path dir_;
};

TEST_F(BadCheckpoint, WrongShapeInConfigNamesTheTensor) {
  auto c = small_config();
  c.intermediate_size = 100;
  write_config(model::qwen3_config_to_json(c));
  const auto msg = load_error();
  EXPECT_NE(msg.find("mlp.gate_proj.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[96, 48]"), std::string::npos) << msg;
}

TEST_F(BadCheckpoint, ImpossibleHeadCountsAreRejected) {
  auto c = small_config();
  c.num_key_value_heads = 4;  // 6 % 4 != 0
  write_config(model::qwen3_config_to_json(c));
  const auto msg = load_error();
  EXPECT_NE(msg.find("num_key_value_heads"), std::string::npos) << msg;
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
}

TEST_F(BadCheckpoint, WrongJsonTypeNamesFileAndKey) {
  write_config(R"({"model_type": "qwen3", "hidden_size": "big"})");
  const auto msg = load_error();
  EXPECT_NE(msg.find("hidden_size"), std::string::npos) << msg;
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
}

TEST_F(BadCheckpoint, TruncatedWeightsNameTheFile) {
  const auto path = dir_ / "model.safetensors";
  fs::resize_file(path, fs::file_size(path) - 10);
  const auto msg = load_error();
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
}

TEST_F(BadCheckpoint, MissingTensorIsNamed) {
  auto ckpt = io::SafetensorsCheckpoint::open(dir_.string());
  std::vector<io::TensorToWrite> keep;
  for (const auto& name : ckpt.names()) {
    if (name == "model.layers.1.self_attn.k_norm.weight") continue;
    const auto& info = ckpt.info(name);
    keep.push_back({name, info.dtype, info.shape, ckpt.raw(name)});
  }
  const auto other = dir_ / "other.safetensors";
  io::write_safetensors(other.string(), keep);
  fs::rename(other, dir_ / "model.safetensors");
  const auto msg = load_error();
  EXPECT_NE(msg.find("model.layers.1.self_attn.k_norm.weight"), std::string::npos) << msg;
}

}  // namespace
}  // namespace elm
