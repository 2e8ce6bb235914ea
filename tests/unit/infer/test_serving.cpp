// serve(): how requests split into rounds and ranks, responses back in input order, seeds that
// follow the request (not its batch), and the order of the auxiliary side's calls.
#include <gtest/gtest.h>

#include "infer/serving.h"
#include "support/small_explicit_lm.h"

namespace elm::infer {
namespace {

std::vector<Request> requests_of(const std::vector<std::vector<int64_t>>& prompts) {
  std::vector<Request> out;
  for (size_t i = 0; i < prompts.size(); ++i) {
    Request r;
    r.index = static_cast<int64_t>(i);
    r.id = "q" + std::to_string(i);
    r.ids = prompts[i];
    r.ingest = "text " + std::to_string(i);
    out.push_back(r);
  }
  return out;
}

const std::vector<std::vector<int64_t>> kPrompts = {{5, 17, 3}, {7, 7}, {200, 13, 1, 64}, {9}, {31, 32, 33}};

TEST(ServingRounds, EveryRequestOnceInRankBlocks) {
  // 11 requests, 3 ranks, batches of 2: rounds of 6; round 1 holds 6..10, rank 2 gets only 10.
  EXPECT_EQ(rounds_for(11, 3, 2), 2);
  EXPECT_EQ(rounds_for(12, 3, 2), 2);
  EXPECT_EQ(rounds_for(13, 3, 2), 3);
  EXPECT_EQ(rounds_for(0, 3, 2), 0);
  EXPECT_EQ(requests_of_round(11, 0, 1, 3, 2), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(requests_of_round(11, 1, 2, 3, 2), (std::vector<int64_t>{10}));
  EXPECT_TRUE(requests_of_round(11, 2, 0, 3, 2).empty());
  std::vector<int> seen(11, 0);
  for (int64_t round = 0; round < 2; ++round) {
    for (int rank = 0; rank < 3; ++rank) {
      for (int64_t i : requests_of_round(11, round, rank, 3, 2)) ++seen[static_cast<size_t>(i)];
    }
  }
  for (int c : seen) EXPECT_EQ(c, 1);
}

// Records the calls serve() makes, and says request i contributed {"i": i}.
class RecordingParticipant : public RoundParticipant {
 public:
  std::vector<std::string> calls;
  void begin_round(int64_t round, const std::vector<const Request*>& mine) override {
    std::string c = "begin " + std::to_string(round) + ":";
    for (const Request* r : mine) c += " " + std::to_string(r->index);
    calls.push_back(c);
  }
  nlohmann::json end_round(int64_t round, MPI_Comm) override {
    calls.push_back("end " + std::to_string(round));
    return {{"round", round}};
  }
  nlohmann::json ingest_of(int64_t index) const override { return {{"i", index}}; }
  nlohmann::json finish(MPI_Comm) override {
    calls.push_back("finish");
    return {{"done", true}};
  }
};

TEST(Serving, ResponsesInInputOrderWithTheAuxiliarySideAroundEachRound) {
  BackboneLM lm(*testing::small_backbone());
  ServeOptions options;
  options.batch_size = 2;
  options.generate.max_new_tokens = 3;
  options.generate.sampling.greedy = true;
  std::vector<Response> got;
  std::vector<int64_t> rounds_seen;
  options.on_response = [&](const Response& r) { got.push_back(r); };
  options.on_round = [&](int64_t round, const nlohmann::json& report) {
    rounds_seen.push_back(round);
    EXPECT_EQ(report.at("round").get<int64_t>(), round);
  };
  RecordingParticipant aux;
  const auto requests = requests_of(kPrompts);
  auto summary = serve(lm, requests, options, MPI_COMM_NULL, nullptr, &aux);
  EXPECT_EQ(aux.calls, (std::vector<std::string>{"begin 0: 0 1", "end 0", "begin 1: 2 3", "end 1", "begin 2: 4",
                                                  "end 2", "finish"}));
  EXPECT_EQ(rounds_seen, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(summary.round_count, 3);
  EXPECT_EQ(summary.new_tokens, 15);
  EXPECT_EQ(summary.round_reports.size(), 3u);
  EXPECT_TRUE(summary.final_report.at("done").get<bool>());
  ASSERT_EQ(got.size(), kPrompts.size());
  const auto alone = generate_batch(lm, kPrompts, options.generate);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].index, static_cast<int64_t>(i));
    EXPECT_EQ(got[i].id, "q" + std::to_string(i));
    EXPECT_EQ(got[i].round, static_cast<int64_t>(i / 2));
    EXPECT_EQ(got[i].tokens, alone[i].tokens);
    EXPECT_EQ(got[i].prompt_tokens, static_cast<int64_t>(kPrompts[i].size()));
    EXPECT_EQ(got[i].ingest.at("i").get<int64_t>(), static_cast<int64_t>(i));
    EXPECT_EQ(got[i].to_json().at("tokens").get<std::vector<int64_t>>(), got[i].tokens);
  }
}

TEST(Serving, SampledOutputFollowsTheRequestNotTheBatchSize) {
  BackboneLM lm(*testing::small_backbone());
  ServeOptions options;
  options.generate.max_new_tokens = 6;
  options.generate.sampling.temperature = 1.0;
  options.generate.sampling.top_k = 0;
  options.generate.sampling.seed = 40;
  const auto requests = requests_of(kPrompts);
  std::vector<std::vector<int64_t>> by_batch[2];
  for (int k = 0; k < 2; ++k) {
    options.batch_size = k == 0 ? 1 : 4;
    options.on_response = [&, k](const Response& r) { by_batch[k].push_back(r.tokens); };
    serve(lm, requests, options, MPI_COMM_NULL, nullptr);
  }
  EXPECT_EQ(by_batch[0], by_batch[1]);
}

}  // namespace
}  // namespace elm::infer
