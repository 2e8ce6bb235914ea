// Replicated banks under the dual path on several ranks: every rank serves its share of the
// requests, the facts and retrievals of all ranks are applied in one order on every rank, and the
// replicas end bit-identical (tokens, validity, texts); a replica that diverges is detected on
// every rank at the next full check, as an error naming the rank, not a hang.
#include <gtest/gtest.h>

#include "core/error.h"
#include "dist/host_collectives.h"
#include "infer/bank_updater.h"
#include "infer/compressor.h"
#include "infer/dual_path.h"
#include "infer/serving.h"
#include "memory/bank.h"
#include "memory/explicit_lm.h"
#include "mpi_test_util.h"
#include "support/fact_bank_model.h"

namespace elm::infer {
namespace {

using testing::vocab_backbone;
using Replica = testing::FactBankModel;

std::vector<Request> requests(int64_t n) {
  const auto& tok = testing::qwen3_tokenizer();
  std::vector<Request> out;
  for (int64_t i = 0; i < n; ++i) {
    out.push_back(make_text_request("Entity number " + std::to_string(i) + " lives in city " + std::to_string(i * 7) +
                                        ". Is that so?",
                                    tok, {}, i));
  }
  return out;
}

BankUpdaterOptions lru_options() {
  BankUpdaterOptions o;
  o.policy = UpdatePolicy::kLru;
  o.freeze_ratio = 0.25;
  return o;
}

TEST(ReplicatedBank, ReplicasStayIdenticalAcrossRanks) {
  auto comm = dist::testing::world();
  Replica r;
  BankUpdater updater(r.bank, r.reader.get(), testing::qwen3_tokenizer(), vocab_backbone()->weights().embed_tokens,
                      lru_options());
  DualPath dual(make_fact_extractor(std::make_shared<PassthroughCompressor>(), 10), updater, r.bank, {});
  MemoryLM lm(*r.lm);
  lm.set_observer(dual.observer());
  ServeOptions so;
  so.batch_size = 1;
  so.generate.max_new_tokens = 2;
  so.generate.sampling.greedy = true;
  const auto reqs = requests(7);
  auto summary = serve(lm, reqs, so, MPI_COMM_WORLD, &testing::qwen3_tokenizer(), &dual);
  EXPECT_EQ(summary.round_count, (7 + comm->size() - 1) / comm->size());

  EXPECT_TRUE(dist::testing::ranks_differing(r.bank.tokens, MPI_COMM_WORLD).empty()) << comm->where();
  EXPECT_TRUE(dist::testing::ranks_differing(r.bank.valid.to(torch::kUInt8), MPI_COMM_WORLD).empty());
  EXPECT_TRUE(dist::testing::ranks_differing(r.reader->fetch(torch::arange(64, torch::kInt64)).tokens, MPI_COMM_WORLD)
                  .empty());
  const auto checksums = dist::all_gather_text(MPI_COMM_WORLD, bank_checksum(r.bank));
  for (const auto& c : checksums) EXPECT_EQ(c, checksums[0]);
  // Every request's one fact ("... city N.", the question is not a fact) was written somewhere.
  int64_t found = 0;
  for (int64_t i = 0; i < 7; ++i) {
    const std::string fact = "Entity number " + std::to_string(i) + " lives in city " + std::to_string(i * 7) + ".";
    found += memory::find_entries(r.bank, fact).size() == 1 ? 1 : 0;
  }
  EXPECT_EQ(found, 7);
  // Nothing below the frozen 25% changed.
  const Replica fresh;
  EXPECT_TRUE(torch::equal(r.bank.tokens.narrow(0, 0, 16), fresh.bank.tokens.narrow(0, 0, 16)));
}

TEST(ReplicatedBank, ADivergedReplicaStopsEveryRank) {
  auto comm = dist::testing::world();
  if (comm->size() < 2) GTEST_SKIP() << "needs 2 ranks";
  Replica r;
  BankUpdater updater(r.bank, r.reader.get(), testing::qwen3_tokenizer(), vocab_backbone()->weights().embed_tokens,
                      lru_options());
  DualPathOptions every_round;
  every_round.full_check_every = 1;
  DualPath dual(make_fact_extractor(std::make_shared<PassthroughCompressor>(), 10), updater, r.bank, every_round);
  if (comm->rank() == 1) r.bank.texts[40] = "a text only rank 1 has";
  const auto reqs = requests(1);
  std::vector<const Request*> mine;
  if (comm->rank() == 0) mine.push_back(&reqs[0]);
  dual.begin_round(0, mine);
  try {
    dual.end_round(0, MPI_COMM_WORLD);
    ADD_FAILURE() << "no error on " << comm->where();
  } catch (const Error& e) {
    // Every rank names the one whose bank changed behind its updater.
    EXPECT_NE(std::string(e.what()).find("the bank of rank 1 changed outside the bank updater (found at round 0)"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace elm::infer
