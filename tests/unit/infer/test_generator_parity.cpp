// Greedy generation on the reference tiny model equals llama.cpp's continuation and step logits.
#include <gtest/gtest.h>

#include "core/error.h"
#include "infer/generator.h"
#include "model/qwen3_model.h"
#include "support/reference_data.h"

namespace elm {
namespace {

using testing::load_reference_sequence;
using testing::max_cols16_error;
using testing::tiny_model_dir;

class GreedyParity : public ::testing::TestWithParam<std::string> {};

TEST_P(GreedyParity, GreedyDecodeWithKvCacheMatchesTokensAndStepLogits) {
  const auto ref = load_reference_sequence(GetParam());
  infer::GenerateOptions options;
  options.max_new_tokens = static_cast<int64_t>(ref.greedy_ids.size());
  options.sampling.greedy = true;
  const auto result = infer::generate(testing::reference_tiny_f32(), ref.ids, options, /*keep_logits=*/true);
  EXPECT_EQ(result.tokens, ref.greedy_ids);
  ASSERT_EQ(result.step_logits.size(), ref.greedy_ids.size());
  const auto steps = torch::stack(result.step_logits);
  EXPECT_LT(max_cols16_error(steps, ref.greedy_step_cols, steps.size(0)), 1e-4);
}

TEST_P(GreedyParity, GreedyDecodeWithoutKvCacheGivesSameTokens) {
  const auto ref = load_reference_sequence(GetParam());
  infer::GenerateOptions options;
  options.max_new_tokens = static_cast<int64_t>(ref.greedy_ids.size());
  options.sampling.greedy = true;
  options.use_kv_cache = false;
  const auto result = infer::generate(testing::reference_tiny_f32(), ref.ids, options, /*keep_logits=*/true);
  EXPECT_EQ(result.tokens, ref.greedy_ids);
  const auto steps = torch::stack(result.step_logits);
  EXPECT_LT(max_cols16_error(steps, ref.greedy_step_cols, steps.size(0)), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Reference, GreedyParity, ::testing::Values("seq8", "seq33"));

}  // namespace
}  // namespace elm

namespace elm {
namespace {

TEST(Generator, ChunkedPrefillGivesTheSameTokensAndLogits) {
  const auto ref = testing::load_reference_sequence("seq33");
  const model::Qwen3Model& model = testing::reference_tiny_f32();
  infer::GenerateOptions whole;
  whole.max_new_tokens = 6;
  whole.sampling.greedy = true;
  whole.prefill_chunk = 0;
  infer::GenerateOptions chunked = whole;
  chunked.prefill_chunk = 5;  // 33 prompt tokens: 6 full chunks and a tail of 3
  const auto a = infer::generate(model, ref.ids, whole, true);
  const auto b = infer::generate(model, ref.ids, chunked, true);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(b.tokens, std::vector<int64_t>(ref.greedy_ids.begin(), ref.greedy_ids.begin() + 6));
  for (size_t i = 0; i < a.step_logits.size(); ++i) {
    EXPECT_LT((a.step_logits[i] - b.step_logits[i]).abs().max().item<double>(), 1e-5) << "step " << i;
  }
}

TEST(Generator, RejectsPromptsBeyondTheContextAndEmptyPrompts) {
  const model::Qwen3Model& model = testing::reference_tiny_f32();
  infer::GenerateOptions options;
  options.max_new_tokens = model.config().max_position_embeddings;
  EXPECT_THROW(infer::generate(model, {1, 2}, options), Error);
  options.max_new_tokens = 1;
  EXPECT_THROW(infer::generate(model, {}, options), Error);
}

}  // namespace
}  // namespace elm
