// Parity of our Qwen3 forward with llama.cpp on the reference tiny model (BF16 weights).
#include <gtest/gtest.h>

#include "model/qwen3_model.h"
#include "support/reference_data.h"

namespace elm {
namespace {

using testing::load_reference_sequence;
using testing::max_cols16_error;
using testing::tiny_model_dir;

torch::Tensor full_logits(const model::Qwen3Model& m, const std::vector<int64_t>& ids) {
  torch::InferenceMode guard;
  return m.forward(torch::tensor(ids, torch::kInt64).unsqueeze(0)).logits[0];
}

class Qwen3Parity : public ::testing::TestWithParam<std::string> {};

TEST_P(Qwen3Parity, FullLogitRowsMatchLlamaCpp) {
  const auto ref = load_reference_sequence(GetParam());
  const auto logits = full_logits(testing::reference_tiny_f32(), ref.ids);
  const int64_t V = logits.size(1);
  ASSERT_EQ(V, 151936);
  ASSERT_EQ(ref.full_rows.size(), ref.full_row_positions.size() * V);
  for (size_t r = 0; r < ref.full_row_positions.size(); ++r) {
    auto expected = torch::from_blob(const_cast<float*>(ref.full_rows.data()) + r * V, {V}, torch::kFloat32);
    const double err = (logits[ref.full_row_positions[r]] - expected).abs().max().item<double>();
    EXPECT_LT(err, 1e-4) << GetParam() << " position " << ref.full_row_positions[r];
  }
}

TEST_P(Qwen3Parity, EveryPositionMatchesOnColumnSubset) {
  const auto ref = load_reference_sequence(GetParam());
  const auto logits = full_logits(testing::reference_tiny_f32(), ref.ids);
  EXPECT_LT(max_cols16_error(logits, ref.cols16, static_cast<int64_t>(ref.ids.size())), 1e-4);
}

TEST_P(Qwen3Parity, Bf16ComputeStaysWithinBf16Tolerance) {
  const auto ref = load_reference_sequence(GetParam());
  static const model::Qwen3Model bf16 = model::Qwen3Model::load(tiny_model_dir(), torch::kBFloat16);
  const auto logits = full_logits(bf16, ref.ids);
  EXPECT_EQ(bf16.weights().embed_tokens.scalar_type(), torch::kBFloat16);
  EXPECT_LT(max_cols16_error(logits, ref.cols16, static_cast<int64_t>(ref.ids.size())), 5e-2);
}

INSTANTIATE_TEST_SUITE_P(Reference, Qwen3Parity, ::testing::Values("seq8", "seq33"));

}  // namespace
}  // namespace elm
