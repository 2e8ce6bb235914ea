// The dual path on one process: the auxiliary side runs on a worker thread while the main thread
// generates, its facts reach the bank before the next round, an ingested fact changes what the next
// request reads and answers, questions are not facts, update_interval queues facts, a failure
// on the worker surfaces on the main thread, and the bank checksum follows the writes.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "core/error.h"
#include "infer/bank_updater.h"
#include "infer/compressor.h"
#include "infer/dual_path.h"
#include "infer/route_query.h"
#include "infer/serving.h"
#include "memory/bank.h"
#include "support/assertions.h"
#include "support/fact_bank_model.h"

namespace elm::infer {
namespace {

using testing::vocab_backbone;

struct Fixture : testing::FactBankModel {
  BankUpdater updater(UpdatePolicy policy, int64_t interval = 1) {
    BankUpdaterOptions o;
    o.policy = policy;
    o.freeze_ratio = 0;
    o.update_interval = interval;
    RouteFunction route;
    if (policy == UpdatePolicy::kRoute) route = make_router_route(*lm);
    return BankUpdater(bank, reader.get(), testing::qwen3_tokenizer(), vocab_backbone()->weights().embed_tokens, o,
                       route);
  }
};

FactExtractor passthrough() { return make_fact_extractor(std::make_shared<PassthroughCompressor>(), 10); }

Request text_request(const std::string& text, int64_t index, const std::string& ingest) {
  Request r = make_text_request(text, testing::qwen3_tokenizer(), {}, index);
  r.ingest = ingest;
  return r;
}

GenerateOptions greedy(int64_t n) {
  GenerateOptions o;
  o.max_new_tokens = n;
  o.sampling.greedy = true;
  return o;
}

TEST(DualPath, AnIngestedFactChangesTheNextAnswer) {
  const std::string fact = "Zorblat the brave lives in Quuxtown.";
  const Request ask = text_request(fact, 1, "");
  // The same question against the bank as it was.
  Fixture before;
  MemoryLM before_lm(*before.lm);
  const auto untouched = generate_batch(before_lm, {ask.ids}, greedy(2), true).front();

  Fixture f;
  BankUpdater updater = f.updater(UpdatePolicy::kRoute);
  DualPath dual(passthrough(), updater, f.bank, {});
  const Request tell = text_request("Did you know?", 0, fact);
  dual.begin_round(0, {&tell});
  const auto report = dual.end_round(0, MPI_COMM_NULL);
  ASSERT_FALSE(report.at("update").is_null());
  const auto& writes = report["update"]["writes"];
  ASSERT_EQ(writes.size(), 1u);
  const int64_t entry = writes[0]["index"].get<int64_t>();
  EXPECT_EQ(f.bank.texts[static_cast<size_t>(entry)], fact);
  EXPECT_EQ(dual.ingest_of(0)["facts"], nlohmann::json::array({fact}));

  // The next request (the same words) routes to the written entry and reads it.
  MemoryLM lm(*f.lm);
  std::vector<int64_t> candidates;
  lm.set_observer([&](const std::vector<memory::MemoryLayerOutput>& layers) {
    if (candidates.empty()) {
      auto c = layers[0].candidate_indices[0][layers[0].candidate_indices.size(1) - 1];
      candidates.assign(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
    }
  });
  const auto after = generate_batch(lm, {ask.ids}, greedy(2), true).front();
  EXPECT_NE(std::find(candidates.begin(), candidates.end(), entry), candidates.end());
  EXPECT_GT((after.step_logits[0] - untouched.step_logits[0]).abs().max().item<double>(), 1e-4);
}

TEST(DualPath, ExtractionRunsOnAWorkerWhileTheMainThreadGenerates) {
  Fixture f;
  BankUpdater updater = f.updater(UpdatePolicy::kFifo);
  std::promise<void> generated;
  std::shared_future<void> generation_done = generated.get_future().share();
  std::thread::id worker;
  bool waited = false;
  FactExtractor extract = [&](const std::string& text) {
    worker = std::this_thread::get_id();
    // Returns only once the main thread has generated: begin_round must not have waited for it.
    waited = generation_done.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
    return Extraction{text, {text}, 0.0};
  };
  DualPath dual(extract, updater, f.bank, {});
  const Request r = text_request("Hello there", 0, "Ludo now likes purple a lot.");
  dual.begin_round(0, {&r});
  MemoryLM lm(*f.lm);
  generate_batch(lm, {r.ids}, greedy(2));
  generated.set_value();
  dual.end_round(0, MPI_COMM_NULL);
  EXPECT_TRUE(waited);
  EXPECT_NE(worker, std::this_thread::get_id());
  EXPECT_EQ(memory::find_entries(f.bank, "Ludo now likes purple a lot.").size(), 1u);
}

TEST(DualPath, QuestionsAreNotFactsUnlessAsked) {
  const auto keep = make_fact_extractor(std::make_shared<PassthroughCompressor>(), 10, /*keep_questions=*/true);
  const auto drop = passthrough();
  const std::string text = "Where does Pemar live now? Pemar moved to Lisbon last year. Ok.";
  EXPECT_EQ(drop(text).facts, (std::vector<std::string>{"Pemar moved to Lisbon last year."}));
  EXPECT_EQ(keep(text).facts, (std::vector<std::string>{"Where does Pemar live now?", "Pemar moved to Lisbon last year."}));
}

TEST(DualPath, UpdateIntervalQueuesFactsAndFinishWritesTheRest) {
  Fixture f;
  BankUpdater updater = f.updater(UpdatePolicy::kFifo, /*interval=*/2);
  DualPath dual(passthrough(), updater, f.bank, {});
  const std::vector<std::string> facts = {"Fact one is about a cat.", "Fact two is about a dog.",
                                          "Fact three is about a cow."};
  std::vector<Request> rs;
  for (size_t i = 0; i < facts.size(); ++i) rs.push_back(text_request("hi", static_cast<int64_t>(i), facts[i]));
  auto written = [&] {
    int n = 0;
    for (const auto& t : facts) n += memory::find_entries(f.bank, t).empty() ? 0 : 1;
    return n;
  };
  dual.begin_round(0, {&rs[0]});
  EXPECT_TRUE(dual.end_round(0, MPI_COMM_NULL).at("update").is_null());
  EXPECT_EQ(written(), 0);
  dual.begin_round(1, {&rs[1]});
  EXPECT_FALSE(dual.end_round(1, MPI_COMM_NULL).at("update").is_null());
  EXPECT_EQ(written(), 2);
  dual.begin_round(2, {&rs[2]});
  dual.end_round(2, MPI_COMM_NULL);
  EXPECT_EQ(written(), 2);
  EXPECT_FALSE(dual.finish(MPI_COMM_NULL).is_null());
  EXPECT_EQ(written(), 3);
  EXPECT_EQ(dual.updates().size(), 2u);
  EXPECT_EQ(dual.last_checksum(), bank_checksum(f.bank));
}

TEST(DualPath, AWorkerFailureSurfacesOnTheMainThread) {
  Fixture f;
  BankUpdater updater = f.updater(UpdatePolicy::kFifo);
  DualPath dual([](const std::string&) -> Extraction { fail("the classifier could not read its input"); }, updater,
                f.bank, {});
  const Request r = text_request("hi", 0, "anything at all here");
  dual.begin_round(0, {&r});
  EXPECT_THROW(dual.end_round(0, MPI_COMM_NULL), Error);
}

TEST(DualPath, ChecksumSeesEveryPartOfTheBank) {
  Fixture f;
  const std::string base = bank_checksum(f.bank);
  auto texts = f.bank.texts;
  f.bank.texts[7] = "changed";
  EXPECT_NE(bank_checksum(f.bank), base);
  f.bank.texts = texts;
  EXPECT_EQ(bank_checksum(f.bank), base);
  f.bank.valid[2] = false;
  EXPECT_NE(bank_checksum(f.bank), base);
  f.bank.valid[2] = true;
  f.bank.tokens[1][3] = 5;
  EXPECT_NE(bank_checksum(f.bank), base);
}

// The checksum follows the writes (no scan of the bank per round) and stays what a full scan of
// the bank gives, also when one round writes an entry twice (fifo around a ring of 7 entries).
TEST(DualPath, TheChecksumFollowsTheWritesAndEqualsAFullScan) {
  Fixture f;
  BankUpdaterOptions o;
  o.policy = UpdatePolicy::kFifo;
  o.freeze_ratio = 0.9;  // entries [57, 64) writable
  BankUpdater updater(f.bank, f.reader.get(), testing::qwen3_tokenizer(), vocab_backbone()->weights().embed_tokens, o);
  DualPathOptions options;
  options.full_check_every = 0;  // only after the last round
  DualPath dual(passthrough(), updater, f.bank, options);
  std::string many;
  for (int i = 0; i < 10; ++i) many += "Entity number " + std::to_string(i) + " lives in town " + std::to_string(i) + ". ";
  const std::vector<Request> rs = {text_request("hi", 0, many), text_request("hi", 1, "Pemar now lives in Rome."),
                                   text_request("hi", 2, "")};
  std::string before = dual.last_checksum();
  for (int64_t round = 0; round < 3; ++round) {
    dual.begin_round(round, {&rs[static_cast<size_t>(round)]});
    const auto report = dual.end_round(round, MPI_COMM_NULL);
    EXPECT_EQ(dual.last_checksum(), bank_checksum(f.bank)) << "round " << round;
    EXPECT_EQ(report.at("bank_checksum"), dual.last_checksum());
    if (round < 2) EXPECT_NE(dual.last_checksum(), before) << "round " << round << " wrote";
    before = dual.last_checksum();
  }
  // Round 0 wrote 10 facts into 7 entries: three of them twice.
  EXPECT_EQ(dual.updates().at(0).at("writes").size(), 10u);
  EXPECT_EQ(memory::find_entries(f.bank, "Entity number 9 lives in town 9.").size(), 1u);
  EXPECT_EQ(dual.full_checks(), 0);
  dual.finish(MPI_COMM_NULL);
  EXPECT_EQ(dual.full_checks(), 1);
}

// Every policy: the checksum followed through its writes equals a full scan after every round
// (full_check_every = 1 throws otherwise), entries rewritten in place included.
TEST(DualPath, EveryPolicysWritesKeepTheFollowedChecksumExact) {
  for (auto policy : {UpdatePolicy::kFifo, UpdatePolicy::kLru, UpdatePolicy::kRandom, UpdatePolicy::kSimilarity,
                      UpdatePolicy::kImportance, UpdatePolicy::kRoute}) {
    Fixture f;
    BankUpdater updater = f.updater(policy);
    DualPathOptions options;
    options.full_check_every = 1;
    DualPath dual(passthrough(), updater, f.bank, options);
    const std::vector<std::string> texts = {"Pemar lives in Lisbon now. Kovi works as a baker now.",
                                            "Pemar lives in Lisbon now. Ludo likes red these days.",
                                            "Zorblat the brave lives in Quuxtown."};
    for (int64_t round = 0; round < 3; ++round) {
      const Request r = text_request("hi", round, texts[static_cast<size_t>(round)]);
      dual.begin_round(round, {&r});
      ASSERT_NO_THROW(dual.end_round(round, MPI_COMM_NULL)) << update_policy_name(policy) << " round " << round;
      EXPECT_EQ(dual.last_checksum(), bank_checksum(f.bank)) << update_policy_name(policy);
    }
    EXPECT_EQ(dual.full_checks(), 3) << update_policy_name(policy);
  }
}

TEST(DualPath, AChangeOutsideTheUpdaterIsFoundAtTheNextFullCheck) {
  Fixture f;
  BankUpdater updater = f.updater(UpdatePolicy::kFifo);
  DualPathOptions options;
  options.full_check_every = 2;
  DualPath dual(passthrough(), updater, f.bank, options);
  const Request r = text_request("hi", 0, "Ludo now likes purple a lot.");
  dual.begin_round(0, {&r});
  EXPECT_FALSE(dual.end_round(0, MPI_COMM_NULL).contains("full_check"));
  f.bank.texts[1] = "Kovi works as a baker.";  // not through the updater
  dual.begin_round(1, {&r});
  EXPECT_CONTAINS(testing::error_of([&] { dual.end_round(1, MPI_COMM_NULL); }),
                  "the bank of rank 0 changed outside the bank updater (found at round 1)");
}

}  // namespace
}  // namespace elm::infer
