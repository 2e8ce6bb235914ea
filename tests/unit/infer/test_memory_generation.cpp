// Generation over an ExplicitLM: incremental decoding with the KV cache and the pooling state equals
// recomputing every sequence from scratch (greedy), batches give each prompt what it gets alone,
// the bank is really read at decode time, and the retrieval observer sees the selected entries.
#include <gtest/gtest.h>

#include "core/error.h"
#include "infer/causal_lm.h"
#include "infer/generator.h"
#include "memory/explicit_lm.h"
#include "support/small_explicit_lm.h"

namespace elm::infer {
namespace {

using testing::small_backbone;
using testing::small_bank;
using testing::small_memory;

const std::vector<std::vector<int64_t>> kPrompts = {{5, 17, 3, 99, 42}, {7, 7}, {200, 13, 1, 64, 2, 8, 31}};

GenerateOptions greedy(int64_t n) {
  GenerateOptions o;
  o.max_new_tokens = n;
  o.sampling.greedy = true;
  return o;
}

class MemoryGeneration : public ::testing::TestWithParam<memory::QueryPooling> {
 protected:
  memory::ExplicitLM make_lm(std::shared_ptr<const memory::BankReader> bank = small_bank()) {
    return memory::ExplicitLM(small_backbone(), std::move(bank), small_memory(GetParam()), /*seed=*/11);
  }
};

TEST_P(MemoryGeneration, KvCacheEqualsFullRecomputeGreedy) {
  auto lm = make_lm();
  MemoryLM model(lm);
  auto cached_options = greedy(12);
  auto full_options = cached_options;
  full_options.use_kv_cache = false;
  const auto cached = generate_batch(model, kPrompts, cached_options, /*keep_logits=*/true);
  const auto full = generate_batch(model, kPrompts, full_options, /*keep_logits=*/true);
  ASSERT_EQ(cached.size(), kPrompts.size());
  for (size_t r = 0; r < kPrompts.size(); ++r) {
    EXPECT_EQ(cached[r].tokens, full[r].tokens) << "prompt " << r;
    ASSERT_EQ(cached[r].step_logits.size(), full[r].step_logits.size());
    for (size_t s = 0; s < cached[r].step_logits.size(); ++s) {
      EXPECT_LT((cached[r].step_logits[s] - full[r].step_logits[s]).abs().max().item<double>(), 1e-4)
          << "prompt " << r << " step " << s;
    }
  }
}

TEST_P(MemoryGeneration, ChunkedPrefillEqualsOnePrefill) {
  auto lm = make_lm();
  MemoryLM model(lm);
  auto whole = greedy(6);
  whole.prefill_chunk = 0;
  auto chunked = whole;
  chunked.prefill_chunk = 2;
  const auto a = generate_batch(model, kPrompts, whole, true);
  const auto b = generate_batch(model, kPrompts, chunked, true);
  for (size_t r = 0; r < kPrompts.size(); ++r) {
    EXPECT_EQ(a[r].tokens, b[r].tokens) << "prompt " << r;
    EXPECT_LT((a[r].step_logits[0] - b[r].step_logits[0]).abs().max().item<double>(), 1e-4) << "prompt " << r;
  }
}

TEST_P(MemoryGeneration, BatchedPromptsGetWhatTheyGetAlone) {
  auto lm = make_lm();
  MemoryLM model(lm);
  const auto batched = generate_batch(model, kPrompts, greedy(8), true);
  for (size_t r = 0; r < kPrompts.size(); ++r) {
    const auto alone = generate_batch(model, {kPrompts[r]}, greedy(8), true).front();
    EXPECT_EQ(batched[r].tokens, alone.tokens) << "prompt " << r;
    EXPECT_LT((batched[r].step_logits[0] - alone.step_logits[0]).abs().max().item<double>(), 1e-4);
  }
}

INSTANTIATE_TEST_SUITE_P(CausalPoolings, MemoryGeneration,
                         ::testing::Values(memory::QueryPooling::kCausalPrefix, memory::QueryPooling::kWeightedPrefix));

TEST(MemoryGenerationBank, DecodedTokensReadTheBank) {
  // The same model over its bank and over the bank with every entry invalid: the logits of the
  // first decoded token differ (the memory layers change the hidden state), the backbone's do not
  // depend on the bank at all.
  auto bank = small_bank();
  auto empty = std::make_shared<memory::LocalBankReader>(*bank);
  empty->reset(torch::zeros({64, 4}, torch::kInt64), torch::zeros({64}, torch::kBool));
  memory::ExplicitLM lm(small_backbone(), bank, small_memory(), 11);
  MemoryLM with_memory(lm);
  const auto a = generate_batch(with_memory, {kPrompts[0]}, greedy(2), true).front();
  lm.set_bank(empty);
  const auto b = generate_batch(with_memory, {kPrompts[0]}, greedy(2), true).front();
  EXPECT_GT((a.step_logits[1] - b.step_logits[1]).abs().max().item<double>(), 1e-4);

  BackboneLM plain(*small_backbone());
  const auto c = generate_batch(plain, {kPrompts[0]}, greedy(2), true).front();
  EXPECT_GT((a.step_logits[1] - c.step_logits[1]).abs().max().item<double>(), 1e-4);
}

TEST(MemoryGenerationObserver, SeesOneSelectionPerRealTokenAndLayer) {
  memory::ExplicitLM lm(small_backbone(), small_bank(), small_memory(), 11);
  MemoryLM model(lm);
  std::vector<int64_t> seen;
  int64_t calls = 0;
  model.set_observer([&](const std::vector<memory::MemoryLayerOutput>& layers) {
    ++calls;
    auto entries = selected_entries(layers);
    seen.insert(seen.end(), entries.begin(), entries.end());
  });
  // Prompts of 5 and 2 tokens, 3 new tokens each: 5 + 2 prompt tokens, then 2 decode calls of one
  // real token per row (the last token needs no forward) -> 7 + 2 * 2 = 11 real tokens, 3 layers, k = 1.
  generate_batch(model, {kPrompts[0], kPrompts[1]}, greedy(3));
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(seen.size(), 11u * 3u);
  for (int64_t e : seen) {
    EXPECT_GE(e, 0);
    EXPECT_LT(e, 64);
    EXPECT_NE(e, 5);  // invalid entries of the fixture are never selected
    EXPECT_NE(e, 9);
    EXPECT_NE(e, 11);
  }
}

TEST(Generation, StopsEachRowOnItsOwnStopToken) {
  BackboneLM plain(*small_backbone());
  const auto free_run = generate_batch(plain, kPrompts, greedy(6));
  // Stop on the token row 1 emits first: row 1 ends there, rows that never emit it run on.
  auto options = greedy(6);
  options.stop_ids = {free_run[1].tokens[0]};
  const auto stopped = generate_batch(plain, kPrompts, options);
  EXPECT_EQ(stopped[1].tokens, std::vector<int64_t>{free_run[1].tokens[0]});
  EXPECT_EQ(stopped[1].stop_reason, "stop_token");
  for (size_t r : {0u, 2u}) {
    const auto& t = free_run[r].tokens;
    auto hit = std::find(t.begin(), t.end(), options.stop_ids[0]);
    const size_t expected = hit == t.end() ? t.size() : static_cast<size_t>(hit - t.begin()) + 1;
    EXPECT_EQ(stopped[r].tokens, std::vector<int64_t>(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(expected)));
  }
}

TEST(Generation, SampledRowsFollowTheirOwnSeeds) {
  BackboneLM plain(*small_backbone());
  GenerateOptions o;
  o.max_new_tokens = 8;
  o.sampling.temperature = 1.0;
  o.sampling.top_k = 0;
  o.sampling.top_p = 1.0;
  const auto batched = generate_batch(plain, kPrompts, o, false, {101, 102, 103});
  const auto alone = generate_batch(plain, {kPrompts[2]}, o, false, {103}).front();
  EXPECT_EQ(batched[2].tokens, alone.tokens);
  const auto other_seed = generate_batch(plain, {kPrompts[2]}, o, false, {104}).front();
  EXPECT_NE(other_seed.tokens, alone.tokens);
}

TEST(Generation, RejectsBadPromptsAndSeedCounts) {
  BackboneLM plain(*small_backbone());
  EXPECT_THROW(generate_batch(plain, {}, greedy(1)), Error);
  EXPECT_THROW(generate_batch(plain, {{1, 2}, {}}, greedy(1)), Error);
  EXPECT_THROW(generate_batch(plain, {{1, 256}}, greedy(1)), Error);  // outside the 256-token vocabulary
  EXPECT_THROW(generate_batch(plain, kPrompts, greedy(1), false, {1, 2}), Error);
}

}  // namespace
}  // namespace elm::infer
