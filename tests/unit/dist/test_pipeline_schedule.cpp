// Pipeline schedules and the stage partition: every schedule runs each pass once and in
// dependency order, never stalls with blocking receives and non-blocking sends, and its idle time
// is the textbook bubble; the partition is contiguous, complete and balanced.
#include <gtest/gtest.h>

#include <set>

#include "dist/pipeline_partition.h"
#include "dist/pipeline_schedule.h"
#include "support/assertions.h"

namespace elm::dist {
namespace {

using testing::error_of;

TEST(PipelineSchedule, EveryStageRunsEachForwardAndBackwardOnceForwardFirst) {
  for (ScheduleKind kind : {ScheduleKind::gpipe, ScheduleKind::one_f_one_b}) {
    for (int p = 1; p <= 5; ++p) {
      for (int m = 1; m <= 7; ++m) {
        for (int s = 0; s < p; ++s) {
          auto actions = stage_actions(kind, p, s, m);
          ASSERT_EQ(actions.size(), 2u * m);
          std::set<int> forwarded, backwarded;
          int next_f = 0, next_b = 0;
          for (const auto& a : actions) {
            if (a.kind == PipelineAction::forward) {
              EXPECT_EQ(a.microbatch, next_f++);  // in micro-batch order
              forwarded.insert(a.microbatch);
            } else {
              EXPECT_EQ(a.microbatch, next_b++);
              EXPECT_TRUE(forwarded.count(a.microbatch)) << "backward before forward";
              backwarded.insert(a.microbatch);
            }
          }
          EXPECT_EQ(static_cast<int>(backwarded.size()), m);
        }
      }
    }
  }
}

TEST(PipelineSchedule, OneFOneBHoldsAtMostStagesMinusStageMicroBatches) {
  const int p = 4, m = 8;
  for (int s = 0; s < p; ++s) {
    EXPECT_EQ(peak_in_flight(stage_actions(ScheduleKind::one_f_one_b, p, s, m)), p - s);
    EXPECT_EQ(peak_in_flight(stage_actions(ScheduleKind::gpipe, p, s, m)), m);
  }
  // The warm-up is cut short when there are fewer micro-batches than stages.
  EXPECT_EQ(peak_in_flight(stage_actions(ScheduleKind::one_f_one_b, 4, 0, 2)), 2);
}

TEST(PipelineSchedule, NoScheduleStallsAndTheBubbleIsTheTheoreticalOne) {
  for (ScheduleKind kind : {ScheduleKind::gpipe, ScheduleKind::one_f_one_b}) {
    for (int p = 1; p <= 8; ++p) {
      for (int m = 1; m <= 16; ++m) {
        auto sim = simulate(kind, p, m, 1.0, 2.0);
        ASSERT_TRUE(sim.completed) << schedule_name(kind) << " p=" << p << " m=" << m;
        // Equal stage costs: exactly (p-1)/(m+p-1) of the stage-time idles.
        EXPECT_NEAR(sim.bubble, theoretical_bubble(p, m), 1e-12) << schedule_name(kind) << " p=" << p << " m=" << m;
        EXPECT_NEAR(sim.makespan, 3.0 * (m + p - 1), 1e-9);
      }
    }
  }
}

TEST(PipelineSchedule, NamesParseAndBadOnesAreRefused) {
  EXPECT_EQ(parse_schedule("gpipe"), ScheduleKind::gpipe);
  EXPECT_EQ(parse_schedule("1f1b"), ScheduleKind::one_f_one_b);
  EXPECT_STREQ(schedule_name(ScheduleKind::one_f_one_b), "1f1b");
  EXPECT_CONTAINS(error_of([] { parse_schedule("zb"); }), "parallel.schedule = \"zb\" must be one of: gpipe, 1f1b");
  EXPECT_CONTAINS(error_of([] { stage_actions(ScheduleKind::gpipe, 2, 0, 0); }), "parallel.microbatches = 0");
}

PipelineCosts uniform_costs(int layers, double embedding = 0, double head = 0) {
  PipelineCosts c;
  c.layer.assign(static_cast<size_t>(layers), 1.0);
  c.embedding = embedding;
  c.head = head;
  return c;
}

void expect_contiguous(const PipelinePartition& p, int64_t layers) {
  ASSERT_GE(p.size(), 1);
  EXPECT_EQ(p.stages.front().first_layer, 0);
  EXPECT_EQ(p.stages.back().end_layer, layers);
  for (int s = 0; s < p.size(); ++s) {
    EXPECT_GE(p.stages[s].layers(), 1);
    if (s > 0) EXPECT_EQ(p.stages[s].first_layer, p.stages[s - 1].end_layer);
    EXPECT_EQ(p.stages[s].embedding, s == 0);
    EXPECT_EQ(p.stages[s].head, s == p.size() - 1);
  }
}

TEST(PipelinePartition, EqualLayersSplitEvenlyAndTheHeadShortensTheLastStage) {
  auto even = balanced_partition(uniform_costs(12), 4);
  expect_contiguous(even, 12);
  for (const auto& s : even.stages) EXPECT_EQ(s.layers(), 3);
  // lm_head worth 3 layers: the last stage takes fewer layers.
  auto headed = balanced_partition(uniform_costs(12, 0, 3), 3);
  expect_contiguous(headed, 12);
  EXPECT_EQ(headed.stages[2].layers(), 2);
  EXPECT_DOUBLE_EQ(headed.stages[2].cost, 5.0);
  double worst = 0;
  for (const auto& s : headed.stages) worst = std::max(worst, s.cost);
  EXPECT_DOUBLE_EQ(worst, 5.0);  // 15 units over 3 stages: the optimum
  EXPECT_EQ(headed.stage_of_layer(11), 2);
  EXPECT_EQ(headed.stage_of_layer(0), 0);
  EXPECT_CONTAINS(headed.describe(), "stage 0: layers 0-4 + embedding");
  EXPECT_CONTAINS(balanced_partition(uniform_costs(2), 2).describe(), "stage 1: layer 1 + norm/lm_head (50.0% of the cost)");
}

TEST(PipelinePartition, MemoryLayersMakeTheirDecoderLayersHeavier) {
  model::Qwen3Config c;
  c.num_hidden_layers = 8;
  c.hidden_size = 64;
  c.intermediate_size = 128;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.vocab_size = 1000;
  auto costs = estimate_stage_costs(c, {0, 1, 2, 3}, 64, 32);
  EXPECT_GT(costs.layer[0], costs.layer[7]);
  EXPECT_DOUBLE_EQ(costs.layer[0], costs.layer[3]);
  auto p = balanced_partition(costs, 2);
  expect_contiguous(p, 8);
  EXPECT_LT(p.stages[0].layers(), p.stages[1].layers());
  // lm_head runs only where a loss is computed: a tenth of the positions costs a tenth.
  auto qa = estimate_stage_costs(c, {0, 1, 2, 3}, 64, 32, 0.1);
  EXPECT_NEAR(qa.head, 0.1 * costs.head, 1e-9 * costs.head);
  EXPECT_CONTAINS(error_of([&] { estimate_stage_costs(c, {}, 64, 32, 1.5); }), "logit fraction 1.5 is not in [0, 1]");
}

TEST(PipelinePartition, AnExplicitSplitIsCheckedAgainstTheModel) {
  auto p = make_partition(uniform_costs(5), 2, "2, 3");
  expect_contiguous(p, 5);
  EXPECT_EQ(p.stages[0].layers(), 2);
  EXPECT_CONTAINS(error_of([] { make_partition(uniform_costs(5), 2, "2,2"); }),
                  "parallel.stage_layers = \"2,2\" covers 4 decoder layers but the backbone has 5");
  EXPECT_CONTAINS(error_of([] { make_partition(uniform_costs(5), 3, "2,3"); }), "names 2 stages but parallel.pp = 3");
  EXPECT_CONTAINS(error_of([] { make_partition(uniform_costs(5), 2, "5,0"); }), "every stage needs at least one layer");
  EXPECT_CONTAINS(error_of([] { balanced_partition(uniform_costs(2), 3); }),
                  "parallel.pp = 3: the backbone has only 2 decoder layers");
}

}  // namespace
}  // namespace elm::dist
