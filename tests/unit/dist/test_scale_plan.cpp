// The arithmetic of `explicitlm plan` (dist/scale_plan.h): parts add up to totals, the bank shard
// and the all-reduce scale with dp as the formulas say, 1F1B holds min(pp - s, m) micro-batches
// and GPipe m, the automatic pp is the smallest that fits, and bad inputs name the option.
#include <gtest/gtest.h>

#include "dist/scale_plan.h"
#include "memory/parameter_count.h"
#include "support/assertions.h"

namespace elm::dist {
namespace {

using elm::testing::error_of;

// Qwen3-4B with configs/qwen3-4b.toml's memory settings (every layer has a memory layer).
ScalePlanInputs qwen3_4b(int64_t gpus) {
  ScalePlanInputs in;
  in.backbone = *builtin_backbone_shape("qwen3-4b");
  in.memory.hidden_size = in.backbone.hidden_size;
  for (int64_t l = 0; l < in.backbone.num_hidden_layers; ++l) in.memory.layers.push_back(l);
  in.gpus = gpus;
  return in;
}

TEST(ScalePlan, BuiltinShapesMatchTheSpecs) {
  const auto b4 = builtin_backbone_shape("qwen3-4b");
  ASSERT_TRUE(b4.has_value());
  EXPECT_EQ(b4->hidden_size, 2560);
  EXPECT_EQ(b4->num_hidden_layers, 36);
  EXPECT_EQ(b4->intermediate_size, 9728);
  EXPECT_EQ(b4->num_attention_heads, 32);
  // Qwen3-4B: 4.0B parameters, 3.6B without the (tied) embedding.
  EXPECT_EQ(36 * decoder_layer_parameters(*b4), 3633509376);
  EXPECT_EQ(plan_with_pp(qwen3_4b(1), 1).backbone_parameters, 3633509376 + 151936 * 2560 + 2560);
  EXPECT_EQ(builtin_backbone_shape("qwen3-0.6b")->hidden_size, 1024);
  EXPECT_FALSE(builtin_backbone_shape("qwen3-8b").has_value());
}

TEST(ScalePlan, StageTotalsAreTheSumOfTheirParts) {
  ScalePlanInputs in = qwen3_4b(8);
  const ScalePlan plan = plan_with_pp(in, 4);
  ASSERT_EQ(plan.stages.size(), 4u);
  int64_t layers = 0, trainable = 0;
  for (const StagePlan& s : plan.stages) {
    const StageMemory& m = s.memory;
    EXPECT_DOUBLE_EQ(m.total(), m.backbone + m.parameters + m.gradients + m.optimizer + m.activations + m.bank);
    EXPECT_DOUBLE_EQ(m.gradients, m.parameters);
    EXPECT_DOUBLE_EQ(m.optimizer, 2 * m.parameters);
    EXPECT_DOUBLE_EQ(m.parameters, 4.0 * static_cast<double>(s.trainable_parameters));
    EXPECT_EQ(s.fits, m.total() <= 80 * kGiB);
    const StageTraffic& t = s.traffic;
    EXPECT_DOUBLE_EQ(t.total(), t.activations_forward + t.gradients_backward + t.gradient_all_reduce + t.bank_requests +
                                    t.bank_replies);
    layers += s.span.layers();
    trainable += s.trainable_parameters;
  }
  EXPECT_EQ(layers, 36);
  EXPECT_EQ(trainable, plan.trainable_parameters);
  EXPECT_EQ(plan.trainable_parameters, 36 * memory::count_memory_layer_parameters(in.memory).total());
  // Every stage has memory layers, so every stage holds the (tied) embedding table.
  for (const StagePlan& s : plan.stages) {
    EXPECT_TRUE(s.embedding_table);
    EXPECT_EQ(s.backbone_parameters, s.span.layers() * decoder_layer_parameters(in.backbone) + 151936 * 2560 +
                                         (s.span.head ? 2560 : 0));
  }
}

TEST(ScalePlan, EmbeddingTableOnlyWhereItIsRead) {
  ScalePlanInputs in = qwen3_4b(4);
  in.memory.layers = {0};  // only stage 0 has a memory layer
  ScalePlan plan = plan_with_pp(in, 4);
  EXPECT_TRUE(plan.stages[0].embedding_table);
  EXPECT_FALSE(plan.stages[1].embedding_table);
  EXPECT_FALSE(plan.stages[2].embedding_table);
  EXPECT_TRUE(plan.stages[3].embedding_table);  // tied lm_head
  EXPECT_DOUBLE_EQ(plan.stages[1].memory.bank, 0.0);
  EXPECT_GT(plan.stages[0].memory.bank, 0.0);
  in.backbone.tie_word_embeddings = false;
  plan = plan_with_pp(in, 4);
  EXPECT_FALSE(plan.stages[3].embedding_table);
  EXPECT_TRUE(plan.stages[3].untied_lm_head);
  EXPECT_EQ(plan.backbone_parameters, 3633509376 + 2 * 151936 * 2560 + 2560);
}

TEST(ScalePlan, BankShardHalvesWhenDpDoubles) {
  ScalePlanInputs in = qwen3_4b(4);
  const double dp2 = plan_with_pp(in, 2).stages[0].memory.bank;
  in.gpus = 8;
  const double dp4 = plan_with_pp(in, 2).stages[0].memory.bank;
  EXPECT_DOUBLE_EQ(dp2, 1048576.0 / 2 * (16 * 4 + 1));
  EXPECT_DOUBLE_EQ(dp4, dp2 / 2);
}

TEST(ScalePlan, OneFOneBHoldsFewerMicrobatchesThanGPipe) {
  ScalePlanInputs in = qwen3_4b(4);
  in.microbatches = 8;
  in.micro_batch_size = 1;
  in.schedule = ScheduleKind::one_f_one_b;
  const ScalePlan f1b = plan_with_pp(in, 4);
  in.schedule = ScheduleKind::gpipe;
  const ScalePlan gpipe = plan_with_pp(in, 4);
  for (int s = 0; s < 4; ++s) {
    const StagePlan& a = f1b.stages[static_cast<size_t>(s)];
    const StagePlan& b = gpipe.stages[static_cast<size_t>(s)];
    EXPECT_EQ(a.in_flight, std::min(4 - s, 8)) << "stage " << s;
    EXPECT_EQ(b.in_flight, 8) << "stage " << s;
    EXPECT_DOUBLE_EQ(a.memory.activations, a.in_flight * a.activations_per_microbatch);
    EXPECT_DOUBLE_EQ(b.memory.activations, 8 * b.activations_per_microbatch);
    EXPECT_LT(a.memory.activations, b.memory.activations);
  }
  // More stages than micro-batches: 1F1B is capped by m.
  in.schedule = ScheduleKind::one_f_one_b;
  in.microbatches = 2;
  EXPECT_EQ(plan_with_pp(in, 4).stages[0].in_flight, 2);
}

TEST(ScalePlan, RecomputationKeepsOnlyTheInputs) {
  ScalePlanInputs in = qwen3_4b(4);
  in.micro_batch_size = 2;
  in.seq_len = 256;
  in.recompute = true;
  const ScalePlan plan = plan_with_pp(in, 4);
  const double input = 2.0 * 256 * 2560 * 2;  // [B, T, d] bf16
  EXPECT_DOUBLE_EQ(plan.stages[0].memory.activations, plan.stages[0].activations_per_microbatch);  // re-embeds ids
  const StagePlan& s1 = plan.stages[1];
  EXPECT_DOUBLE_EQ(s1.memory.activations, s1.in_flight * input + s1.activations_per_microbatch);
  // Fetches are repeated by the recomputed forward.
  in.recompute = false;
  EXPECT_DOUBLE_EQ(plan.stages[1].traffic.bank_requests, 2 * plan_with_pp(in, 4).stages[1].traffic.bank_requests);
}

TEST(ScalePlan, ActivationFormulas) {
  const auto bc = *builtin_backbone_shape("qwen3-4b");
  // Megatron: (34 d + 5 a T) T B at 16 bits; float32 doubles it.
  EXPECT_DOUBLE_EQ(decoder_layer_activation_bytes(bc, 512, 2, 2), (34.0 * 2560 + 5.0 * 32 * 512) * 512 * 2);
  EXPECT_DOUBLE_EQ(decoder_layer_activation_bytes(bc, 512, 2, 4), 2 * decoder_layer_activation_bytes(bc, 512, 2, 2));
  EXPECT_DOUBLE_EQ(head_activation_bytes(bc, 100, 3, 2), 100.0 * 3 * 151936 * 6);
  memory::MemoryConfig mc;
  mc.hidden_size = 2560;
  // 4 B (T (12 + C) d + T ((2 + 7 * 2) d + kd + 2 sqrt(N) + internal^2))
  const double per_query = 16.0 * 2560 + 128 + 2 * 1024 + 32 * 32;
  EXPECT_DOUBLE_EQ(memory_layer_activation_bytes(mc, 10, 3), 4.0 * 3 * (10 * 20.0 * 2560 + 10 * per_query));
  mc.pooling = memory::QueryPooling::kSequenceMean;  // one router query per row
  EXPECT_DOUBLE_EQ(memory_layer_activation_bytes(mc, 10, 3), 4.0 * 3 * (10 * 20.0 * 2560 + per_query));
}

TEST(ScalePlan, CommunicationVolumes) {
  ScalePlanInputs in = qwen3_4b(8);
  in.microbatches = 4;
  in.micro_batch_size = 2;
  in.seq_len = 128;
  const ScalePlan plan = plan_with_pp(in, 2);  // dp 4
  ASSERT_EQ(plan.dp, 4);
  const double message = 2.0 * 128 * 2560 * 2;
  const StagePlan& first = plan.stages[0];
  const StagePlan& last = plan.stages[1];
  EXPECT_DOUBLE_EQ(first.traffic.activations_forward, 4 * message);
  EXPECT_DOUBLE_EQ(first.traffic.gradients_backward, 0.0);
  EXPECT_DOUBLE_EQ(last.traffic.activations_forward, 0.0);
  EXPECT_DOUBLE_EQ(last.traffic.gradients_backward, 4 * message);
  EXPECT_DOUBLE_EQ(first.traffic.gradient_all_reduce, 2.0 * 3 / 4 * first.memory.parameters);
  // Per memory layer and token: 8 candidates x 8 bytes out, 8 x (16 + 1) x 4 back, 3/4 remote.
  const double queries = 4.0 * 2 * 128;
  EXPECT_DOUBLE_EQ(first.traffic.bank_requests, queries * first.memory_layers * 8 * 8 * 0.75);
  EXPECT_DOUBLE_EQ(first.traffic.bank_replies, queries * first.memory_layers * 8 * 17 * 4 * 0.75);
  // One rank per stage: nothing to all-reduce, the whole bank is local.
  in.gpus = 2;
  const ScalePlan alone = plan_with_pp(in, 2);
  EXPECT_DOUBLE_EQ(alone.stages[0].traffic.gradient_all_reduce, 0.0);
  EXPECT_DOUBLE_EQ(alone.stages[0].traffic.bank_requests + alone.stages[0].traffic.bank_replies, 0.0);
}

TEST(ScalePlan, MicroBatchSizeFollowsTheTrainersSplit) {
  ScalePlanInputs in = qwen3_4b(8);
  in.batch_size = 64;
  in.microbatches = 4;
  ScalePlan plan = plan_with_pp(in, 2);  // dp 4: 16 rows per rank, 4 chunks of 4
  EXPECT_EQ(plan.micro_batch_size, 4);
  EXPECT_EQ(plan.rows_per_step, 64);
  plan = plan_with_pp(in, 1);  // no pipeline: one chunk of 8 rows
  EXPECT_EQ(plan.microbatches, 1);
  EXPECT_EQ(plan.micro_batch_size, 8);
  in.batch_size = 8;
  EXPECT_EQ(plan_with_pp(in, 8).micro_batch_size, 2);  // dp 1: 8 rows in 4 chunks of 2
  in.gpus = 32;
  plan = plan_with_pp(in, 4);  // dp 8: one row per rank, 4 chunks, 3 of them stand-ins of one row
  EXPECT_EQ(plan.micro_batch_size, 1);
  EXPECT_EQ(plan.rows_per_step, 32);
  in.micro_batch_size = 3;  // --micro-batch-size wins
  EXPECT_EQ(plan_with_pp(in, 4).micro_batch_size, 3);
}

TEST(ScalePlan, NotesWhereTheTrainerWouldRefuseOrDiffer) {
  ScalePlanInputs in = qwen3_4b(64);
  in.batch_size = 8;
  auto has = [](const ScalePlan& p, const std::string& text) {
    for (const auto& n : p.notes) {
      if (n.find(text) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has(plan_with_pp(in, 1), "training.batch_size = 8 is smaller than dp 64"));
  in.batch_size = 64;
  EXPECT_FALSE(has(plan_with_pp(in, 1), "is smaller than dp"));
  EXPECT_TRUE(has(plan_with_pp(in, 1), "pp 1: no pipeline"));
  EXPECT_FALSE(has(plan_with_pp(in, 2), "pp 1: no pipeline"));
  in.micro_batch_size = 2;
  EXPECT_TRUE(has(plan_with_pp(in, 4), "stands for training.batch_size = 128"));  // 16 x 4 x 2
}

TEST(ScalePlan, PartitionIsTheTrainersAndFollowsTheLogitFraction) {
  ScalePlanInputs in = qwen3_4b(4);
  const ScalePlan full = plan_with_pp(in, 4);
  const PipelinePartition expected = balanced_partition(
      estimate_stage_costs(in.backbone, in.memory.layers, in.backbone.hidden_size, in.seq_len, 1.0), 4);
  ASSERT_EQ(full.partition.size(), 4);
  for (int s = 0; s < 4; ++s) {
    EXPECT_EQ(full.partition.stages[static_cast<size_t>(s)].end_layer, expected.stages[static_cast<size_t>(s)].end_layer);
  }
  // Few loss positions (question answering): lm_head costs less, the last stage takes more layers.
  in.logit_fraction = 0.05;
  EXPECT_GT(plan_with_pp(in, 4).stages.back().span.layers(), full.stages.back().span.layers());
  in.logit_fraction = 1.5;
  EXPECT_CONTAINS(error_of([&] { plan_with_pp(in, 4); }), "--logit-fraction must be in [0, 1]");
}

TEST(ScalePlan, BubbleIsTheTheoreticalOne) {
  ScalePlanInputs in = qwen3_4b(8);
  in.microbatches = 6;
  EXPECT_DOUBLE_EQ(plan_with_pp(in, 4).bubble, 3.0 / 9.0);
  EXPECT_DOUBLE_EQ(plan_with_pp(in, 1).bubble, 0.0);
}

TEST(ScalePlan, AutomaticPpIsTheSmallestThatFits) {
  ScalePlanInputs in = qwen3_4b(8);
  const double one = plan_with_pp(in, 1).fullest().memory.total();
  const double two = plan_with_pp(in, 2).fullest().memory.total();
  const double four = plan_with_pp(in, 4).fullest().memory.total();
  ASSERT_GT(one, two);
  ASSERT_GT(two, four);
  in.gpu_mem_gib = (one + two) / 2 / kGiB;  // pp 1 does not fit, pp 2 does
  ScalePlan plan = make_scale_plan(in);
  EXPECT_EQ(plan.pp, 2);
  EXPECT_EQ(plan.dp, 4);
  EXPECT_TRUE(plan.pp_chosen);
  EXPECT_TRUE(plan.fits());
  in.gpu_mem_gib = (two + four) / 2 / kGiB;
  EXPECT_EQ(make_scale_plan(in).pp, 4);
  in.gpu_mem_gib = one / kGiB * 1.01;
  EXPECT_EQ(make_scale_plan(in).pp, 1);
  EXPECT_EQ(candidate_pps(in), (std::vector<int64_t>{1, 2, 4, 8}));
  in.gpus = 72;  // divisors beyond the 36 layers are not tried
  EXPECT_EQ(candidate_pps(in).back(), 36);
}

TEST(ScalePlan, AGivenPpIsPlannedEvenWhenItDoesNotFit) {
  ScalePlanInputs in = qwen3_4b(8);
  in.pp = 2;
  in.gpu_mem_gib = 1;
  const ScalePlan plan = make_scale_plan(in);
  EXPECT_EQ(plan.pp, 2);
  EXPECT_FALSE(plan.pp_chosen);
  EXPECT_FALSE(plan.fits());
}

TEST(ScalePlan, ErrorsNameTheOption) {
  ScalePlanInputs in = qwen3_4b(8);
  EXPECT_CONTAINS(error_of([&] { plan_with_pp(in, 3); }), "--gpus 8 is not divisible by --pp 3");
  in.gpus = 72;
  EXPECT_CONTAINS(error_of([&] { plan_with_pp(in, 72); }), "--pp 72: the backbone has only 36 decoder layers");
  in.gpus = 8;
  in.dp = 2;
  EXPECT_CONTAINS(error_of([&] { plan_with_pp(in, 2); }), "--pp 2 x --dp 2 = 4 ranks, but --gpus is 8");
  in.dp = 3;
  EXPECT_CONTAINS(error_of([&] { make_scale_plan(in); }), "--gpus 8 is not divisible by --dp 3");
  in.dp = 0;
  in.gpu_mem_gib = 1;
  const std::string none = error_of([&] { make_scale_plan(in); });
  EXPECT_CONTAINS(none, "no pipeline depth fits --gpu-mem 1 GiB on --gpus 8");
  EXPECT_CONTAINS(none, "pp 8: ");
  in.gpus = 0;
  EXPECT_CONTAINS(error_of([&] { make_scale_plan(in); }), "--gpus must be >= 1");
}

}  // namespace
}  // namespace elm::dist
