// The bank updater's policies (ring wrap-around, freeze_ratio, lru order, importance, seeded random,
// similarity against a brute-force cosine scan, route preferences), the reader mirror, determinism
// of replicas, the report, queued submissions and errors. Expected values come from hand-worked
// sequences or naive reference models written here, never from the code under test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "core/config.h"
#include "core/error.h"
#include "infer/bank_updater.h"
#include "infer/fact_split.h"
#include "memory/candidates.h"
#include "support/assertions.h"
#include "unit/infer/updater_test_util.h"

namespace elm::infer {
namespace {

using elm::testing::error_of;
using testing::cone_embeddings;
using testing::make_bank;
using testing::snapshot;
using testing::tokenizer;

std::string new_fact(int64_t k) { return "Fresh fact " + std::to_string(k) + " says the sea is green."; }

BankUpdaterOptions options_for(UpdatePolicy policy, double freeze = 0.25) {
  BankUpdaterOptions o;
  o.policy = policy;
  o.freeze_ratio = freeze;
  o.seed = 5;
  return o;
}

// An exhaustive LSH over a small bank (every bucket probed): the similarity policy then finds the
// exact best entry, which isolates the policy logic from the index's recall.
LshOptions exhaustive_lsh() {
  LshOptions l;
  l.tables = 2;
  l.bits = 3;
  l.probes = 8;
  l.max_candidates = 1 << 20;
  l.rerank = 1 << 20;
  return l;
}

const torch::Tensor& small_table() {
  static const torch::Tensor t = cone_embeddings(tokenizer().vocab_size(), 16, 1.0, 3);
  return t;
}

std::vector<int64_t> indices_of(const UpdateReport& r) {
  std::vector<int64_t> out;
  for (const auto& w : r.writes) out.push_back(w.index);
  return out;
}

// A fixed fake router: eight candidates derived from the fact's ids, frozen entries among them.
RouteFunction hashed_route(int64_t n) {
  return [n](const std::vector<int32_t>& ids) {
    uint64_t h = 1469598103934665603ull;
    for (int32_t id : ids) h = (h ^ static_cast<uint64_t>(id)) * 1099511628211ull;
    std::vector<int64_t> out;
    for (int k = 0; k < 8; ++k) out.push_back(static_cast<int64_t>((h >> (k * 7)) % static_cast<uint64_t>(n)));
    return out;
  };
}

TEST(BankUpdater, FrozenEndIsTheFloorOfFreezeRatioTimesN) {
  auto bank = make_bank(16, 16);
  EXPECT_EQ(BankUpdater(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kFifo, 0.2)).frozen_end(), 3);
  EXPECT_EQ(BankUpdater(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kFifo, 0.25)).frozen_end(), 4);
  EXPECT_EQ(BankUpdater(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kFifo, 0.0)).frozen_end(), 0);
  EXPECT_EQ(BankUpdater(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kFifo, 0.99)).frozen_end(), 15);
}

TEST(BankUpdater, FifoIsARingOverTheWritableEntriesThatWrapsAround) {
  auto bank = make_bank(16, 16);
  BankUpdater u(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kFifo));
  std::vector<std::string> facts;
  for (int k = 0; k < 15; ++k) facts.push_back(new_fact(k));
  const auto r = u.apply(facts);
  EXPECT_EQ(indices_of(r), (std::vector<int64_t>{4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 4, 5, 6}));
  for (const auto& w : r.writes) EXPECT_EQ(w.reason, "ring");
  EXPECT_EQ(u.next_ring(), 7);
  // Later facts of the same call replaced the earlier ones once the ring came round.
  EXPECT_EQ(bank.texts[4], new_fact(12));
  EXPECT_EQ(bank.texts[6], new_fact(14));
  EXPECT_EQ(bank.texts[7], new_fact(3));
  EXPECT_EQ(r.writes[12].old_text, new_fact(0));
  // The ring continues across calls.
  EXPECT_EQ(indices_of(u.apply({new_fact(20)})), (std::vector<int64_t>{7}));
}

TEST(BankUpdater, EveryPolicyLeavesTheFrozenEntriesUntouched) {
  for (UpdatePolicy policy : {UpdatePolicy::kFifo, UpdatePolicy::kLru, UpdatePolicy::kRandom, UpdatePolicy::kSimilarity,
                              UpdatePolicy::kImportance, UpdatePolicy::kRoute}) {
    SCOPED_TRACE(update_policy_name(policy));
    auto bank = make_bank(64, 40);
    const auto before = snapshot(bank);
    BankUpdaterOptions o = options_for(policy, 0.3);
    o.similarity_threshold = 0.5;
    o.lsh = exhaustive_lsh();
    BankUpdater u(bank, nullptr, tokenizer(), small_table(), o, hashed_route(64));
    ASSERT_EQ(u.frozen_end(), 19);
    std::mt19937_64 rng(17);
    int64_t writes = 0;
    for (int step = 0; step < 120; ++step) {
      if (rng() % 3 == 0) {
        std::vector<int64_t> got;
        for (int k = 0; k < 5; ++k) got.push_back(static_cast<int64_t>(rng() % 65) - 1);  // -1 .. 63
        u.record_retrievals(got);
        continue;
      }
      std::vector<std::string> facts;
      const int count = 1 + static_cast<int>(rng() % 3);
      // Repeat texts now and then so the similarity policy also replaces similar entries.
      for (int j = 0; j < count; ++j) {
        facts.push_back(rng() % 2 ? new_fact(step * 3 + j) : testing::fact_text(static_cast<int64_t>(rng() % 64)));
      }
      for (const auto& w : u.apply(facts).writes) {
        ASSERT_GE(w.index, 19);
        ASSERT_LT(w.index, 64);
        ++writes;
      }
    }
    EXPECT_GT(writes, 100);
    EXPECT_TRUE(torch::equal(bank.tokens.narrow(0, 0, 19), before.tokens.narrow(0, 0, 19)));
    EXPECT_TRUE(torch::equal(bank.valid.narrow(0, 0, 19), before.valid.narrow(0, 0, 19)));
    for (int64_t i = 0; i < 19; ++i) {
      EXPECT_EQ(bank.texts[i], before.texts[i]);
      EXPECT_EQ(bank.token_counts[i], before.token_counts[i]);
    }
  }
}

TEST(BankUpdater, LruFillsEmptyEntriesFirstThenFollowsRetrievalsAndWrites) {
  auto bank = make_bank(16, 10);  // entries 10..15 are empty
  BankUpdater u(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kLru));
  EXPECT_EQ(u.lru_order(), (std::vector<int64_t>{10, 11, 12, 13, 14, 15, 4, 5, 6, 7, 8, 9}));
  auto r = u.apply({new_fact(0)});
  ASSERT_EQ(r.writes.size(), 1u);
  EXPECT_EQ(r.writes[0].index, 10);
  EXPECT_EQ(r.writes[0].reason, "least recently used");
  u.record_retrievals({6, 4, 2, -1, 9});  // 2 is frozen, -1 "nothing selected": neither changes the order
  EXPECT_EQ(u.lru_order(), (std::vector<int64_t>{11, 12, 13, 14, 15, 5, 7, 8, 10, 6, 4, 9}));
  EXPECT_EQ(u.retrieval_count(2), 1u);
  for (int k = 1; k <= 5; ++k) u.apply({new_fact(k)});  // 11..15
  EXPECT_EQ(u.least_recently_used(), 5);
  u.record_retrievals({5});
  EXPECT_EQ(indices_of(u.apply({new_fact(9)})), (std::vector<int64_t>{7}));
}

TEST(BankUpdater, LruMatchesANaiveLastUseModel) {
  auto bank = make_bank(36, 20);
  BankUpdater u(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kLru));
  const int64_t first = u.frozen_end(), n = 36;
  // Naive model: last-use time per entry; never-used: empty entries first, then by index.
  std::vector<int64_t> last(static_cast<size_t>(n), 0);
  int64_t clock = 0;
  for (int64_t i = 20; i < n; ++i) last[i] = ++clock;
  for (int64_t i = first; i < 20; ++i) last[i] = ++clock;
  std::mt19937_64 rng(3);
  for (int step = 0; step < 300; ++step) {
    if (rng() % 2) {
      std::vector<int64_t> got;
      for (int k = 0; k < 3; ++k) got.push_back(static_cast<int64_t>(rng() % n));
      u.record_retrievals(got);
      for (int64_t i : got) {
        if (i >= first) last[i] = ++clock;
      }
    } else {
      int64_t expect = first;
      for (int64_t i = first; i < n; ++i) {
        if (last[i] < last[expect]) expect = i;
      }
      ASSERT_EQ(indices_of(u.apply({new_fact(step)})), (std::vector<int64_t>{expect})) << "step " << step;
      last[expect] = ++clock;
    }
  }
}

TEST(BankUpdater, ImportanceWritesTheEntryWithFewestRetrievals) {
  auto bank = make_bank(16, 16);
  BankUpdater u(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kImportance));
  auto r = u.apply({new_fact(0)});  // all counts 0: the oldest, entry 4
  EXPECT_EQ(indices_of(r), (std::vector<int64_t>{4}));
  EXPECT_EQ(r.writes[0].reason, "lowest retrieval count (0)");
  std::vector<int64_t> got;
  for (int64_t i = 4; i < 16; ++i) {
    if (i != 11) got.push_back(i);
  }
  u.record_retrievals(got);
  u.record_retrievals({5, 5, 6});
  EXPECT_EQ(u.retrieval_count(5), 3u);
  EXPECT_EQ(indices_of(u.apply({new_fact(1)})), (std::vector<int64_t>{11}));  // the only one never retrieved
  // 11 is new (count 0 again); once it is retrieved twice, the oldest count-1 entry is next: 4 was
  // written last among them, so 7 (never written, lowest index with count 1) goes first.
  u.record_retrievals({11, 11});
  r = u.apply({new_fact(2)});
  EXPECT_EQ(indices_of(r), (std::vector<int64_t>{7}));
  EXPECT_EQ(r.writes[0].reason, "lowest retrieval count (1)");
}

TEST(BankUpdater, ImportanceMatchesANaiveArgmin) {
  auto bank = make_bank(25, 25);
  BankUpdater u(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kImportance, 0.2));
  const int64_t first = u.frozen_end(), n = 25;
  std::vector<uint64_t> count(n, 0);
  std::vector<int64_t> age(n, 0);
  int64_t clock = 0;
  for (int64_t i = first; i < n; ++i) age[i] = ++clock;  // all valid: index order
  std::mt19937_64 rng(9);
  for (int step = 0; step < 300; ++step) {
    if (rng() % 3) {
      const int64_t i = static_cast<int64_t>(rng() % n);
      u.record_retrievals({i});
      ++count[i];
    } else {
      int64_t expect = first;
      for (int64_t i = first; i < n; ++i) {
        if (count[i] < count[expect] || (count[i] == count[expect] && age[i] < age[expect])) expect = i;
      }
      ASSERT_EQ(indices_of(u.apply({new_fact(step)})), (std::vector<int64_t>{expect})) << "step " << step;
      count[expect] = 0;
      age[expect] = ++clock;
    }
  }
}

TEST(BankUpdater, RandomIsSeededUniformOverTheWritableRange) {
  auto bank_a = make_bank(16, 16), bank_b = make_bank(16, 16);
  BankUpdater a(bank_a, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kRandom));
  BankUpdater b(bank_b, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kRandom));
  std::vector<std::string> facts;
  for (int k = 0; k < 600; ++k) facts.push_back(new_fact(k));
  const auto ia = indices_of(a.apply(facts)), ib = indices_of(b.apply(facts));
  EXPECT_EQ(ia, ib);
  // The documented mapping: rejection sampling of raw std::mt19937_64 draws, then modulo.
  std::mt19937_64 rng(5);
  const uint64_t range = 12, limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % range;
  std::vector<int64_t> expect;
  while (expect.size() < facts.size()) {
    const uint64_t x = rng();
    if (x < limit) expect.push_back(4 + static_cast<int64_t>(x % range));
  }
  EXPECT_EQ(ia, expect);
  std::vector<int> hits(16, 0);
  for (int64_t i : ia) {
    ASSERT_GE(i, 4);
    ASSERT_LT(i, 16);
    ++hits[i];
  }
  for (int64_t i = 4; i < 16; ++i) EXPECT_GT(hits[i], 20) << "entry " << i;  // 50 expected each
  auto bank_c = make_bank(16, 16);
  BankUpdaterOptions other = options_for(UpdatePolicy::kRandom);
  other.seed = 6;
  BankUpdater c(bank_c, nullptr, tokenizer(), {}, other);
  EXPECT_NE(indices_of(c.apply(facts)), ia);
}

// Cosines of a fact's candidate embedding with every entry, by torch (memory/candidates.h).
std::vector<double> brute_force_cosines(const memory::MemoryBank& bank, const std::string& fact,
                                        const torch::Tensor& table) {
  auto entries = memory::mean_token_embeddings(bank.tokens.to(torch::kInt64), bank.valid, bank.meta.pad_id, table);
  auto ids = memory::encode_entry(tokenizer(), fact, bank.entry_length, bank.meta.pad_id);
  auto f = memory::mean_token_embeddings(torch::tensor(ids, torch::kInt32).to(torch::kInt64).unsqueeze(0),
                                         torch::ones({1}, torch::kBool), bank.meta.pad_id, table);
  auto cos = torch::cosine_similarity(entries.embeddings.to(torch::kFloat64),
                                      f.embeddings.to(torch::kFloat64).expand({bank.num_entries, -1}), 1);
  cos = cos.masked_fill(entries.valid.logical_not(), -2.0);
  return std::vector<double>(cos.data_ptr<double>(), cos.data_ptr<double>() + cos.numel());
}

TEST(BankUpdater, SimilarityReplacesTheClosestEntryByCosine) {
  auto bank = make_bank(64, 40);
  const torch::Tensor table = cone_embeddings(tokenizer().vocab_size(), 32, 0.5, 5);
  BankUpdaterOptions o = options_for(UpdatePolicy::kSimilarity);  // frozen_end 16
  o.similarity_threshold = 0.5;
  o.lsh = exhaustive_lsh();
  BankUpdater u(bank, nullptr, tokenizer(), table, o);
  // fact_text(30) is "Ilmar 30 lives in Tokyo."; the update changes its number and end.
  const std::string fact = "Ilmar 30 lives in Tokyo now!";
  const auto cos = brute_force_cosines(bank, fact, table);
  int64_t best = 16, second = -1;
  for (int64_t i = 16; i < 64; ++i) {
    if (cos[i] > cos[best]) best = i;
  }
  for (int64_t i = 16; i < 64; ++i) {
    if (i != best && (second < 0 || cos[i] > cos[second])) second = i;
  }
  ASSERT_EQ(best, 30);
  ASSERT_GT(cos[best] - cos[second], 0.02) << "the test needs a clearly separated nearest entry";
  ASSERT_GT(cos[best], o.similarity_threshold);
  const auto r = u.apply({fact});
  ASSERT_EQ(r.writes.size(), 1u);
  EXPECT_EQ(r.writes[0].index, 30);
  EXPECT_NEAR(r.writes[0].similarity, cos[30], 1e-4);
  EXPECT_EQ(r.writes[0].reason.rfind("similar (cosine ", 0), 0u) << r.writes[0].reason;
  EXPECT_EQ(bank.texts[30], fact);
  // The same text again: the entry just written is now the closest (cosine 1).
  const auto again = u.apply({fact});
  EXPECT_EQ(indices_of(again), (std::vector<int64_t>{30}));
  EXPECT_NEAR(again.writes[0].similarity, 1.0, 1e-5);
}

TEST(BankUpdater, SimilarityBelowTheThresholdWritesTheOldestEntry) {
  auto bank = make_bank(64, 40);
  const torch::Tensor table = cone_embeddings(tokenizer().vocab_size(), 32, 0.5, 5);
  BankUpdaterOptions o = options_for(UpdatePolicy::kSimilarity);
  o.similarity_threshold = 0.9999;
  o.lsh = exhaustive_lsh();
  BankUpdater u(bank, nullptr, tokenizer(), table, o);
  const std::string fact = "Completely unrelated words: quantum banana orchestra.";
  const auto cos = brute_force_cosines(bank, fact, table);
  double best = -2;
  for (int64_t i = 16; i < 64; ++i) best = std::max(best, cos[i]);
  ASSERT_LT(best, 0.9999);
  auto r = u.apply({fact, "Another unrelated one: violet glacier tractor."});
  // Oldest: the empty entries first (40, 41, ...), in index order.
  EXPECT_EQ(indices_of(r), (std::vector<int64_t>{40, 41}));
  EXPECT_EQ(r.writes[0].reason.rfind("oldest (best cosine ", 0), 0u) << r.writes[0].reason;
  EXPECT_NEAR(r.writes[0].similarity, best, 1e-4);
  EXPECT_FALSE(r.writes[0].old_valid);
}

TEST(BankUpdater, RoutePrefersInvalidThenLeastRecentlyWrittenAmongTheCandidates) {
  auto bank = make_bank(16, 10);  // 10..15 empty; frozen 0..3
  std::vector<int32_t> seen_ids;
  std::vector<int64_t> candidates = {2, 9, 12, 7, 13};
  RouteFunction route = [&](const std::vector<int32_t>& ids) {
    seen_ids = ids;
    return candidates;
  };
  BankUpdater u(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kRoute), route);
  auto r = u.apply({new_fact(0)});
  EXPECT_EQ(indices_of(r), (std::vector<int64_t>{12}));
  EXPECT_EQ(r.writes[0].reason, "route candidate 2 (invalid)");
  // The route function got the fact's ids without padding.
  auto ids = memory::encode_entry(tokenizer(), new_fact(0), 8, testing::pad_id());
  ids.erase(std::remove(ids.begin(), ids.end(), static_cast<int32_t>(testing::pad_id())), ids.end());
  EXPECT_EQ(seen_ids, ids);
  r = u.apply({new_fact(1), new_fact(2), new_fact(3), new_fact(4)});
  EXPECT_EQ(indices_of(r), (std::vector<int64_t>{13, 7, 9, 12}));
  EXPECT_EQ(r.writes[0].reason, "route candidate 4 (invalid)");
  EXPECT_EQ(r.writes[1].reason, "route candidate 3 (least recently written)");  // 7 is older than 9
  EXPECT_EQ(r.writes[2].reason, "route candidate 1 (least recently written)");
  EXPECT_EQ(r.writes[3].reason, "route candidate 2 (least recently written)");
  // Only the first route_candidates writable candidates count.
  auto bank2 = make_bank(16, 10);
  BankUpdaterOptions one = options_for(UpdatePolicy::kRoute);
  one.route_candidates = 1;
  BankUpdater u2(bank2, nullptr, tokenizer(), {}, one, route);
  EXPECT_EQ(indices_of(u2.apply({new_fact(0), new_fact(1)})), (std::vector<int64_t>{9, 9}));
  // No writable candidate: the oldest entry, said so.
  candidates = {0, 1, 2, 3};
  r = u2.apply({new_fact(5)});
  EXPECT_EQ(indices_of(r), (std::vector<int64_t>{10}));
  EXPECT_CONTAINS(r.writes[0].reason, "oldest");
  candidates = {5, 99};
  const auto msg = error_of([&] { u2.apply({new_fact(6)}); });
  EXPECT_CONTAINS(msg, "99");
  EXPECT_CONTAINS(msg, "outside [0, 16)");
}

TEST(BankUpdater, TheReaderMirrorsTheBank) {
  auto bank = make_bank(16, 8);
  auto reader = memory::make_bank_reader(bank);
  BankUpdater u(bank, &reader, tokenizer(), {}, options_for(UpdatePolicy::kFifo));
  std::vector<std::string> facts;
  for (int k = 0; k < 20; ++k) facts.push_back(new_fact(k));
  u.apply(facts);
  const auto rows = reader.fetch(torch::arange(16, torch::kInt64));
  EXPECT_TRUE(torch::equal(rows.tokens, bank.tokens.to(torch::kInt64)));
  EXPECT_TRUE(torch::equal(rows.valid, bank.valid));
  EXPECT_TRUE(bank.valid.all().item<bool>());  // every writable entry got a fact; 0..7 were filled
}

TEST(BankUpdater, TwoUpdatersGivenTheSameCallsEndIdentical) {
  for (UpdatePolicy policy : {UpdatePolicy::kRandom, UpdatePolicy::kSimilarity, UpdatePolicy::kLru,
                              UpdatePolicy::kImportance, UpdatePolicy::kRoute, UpdatePolicy::kFifo}) {
    SCOPED_TRACE(update_policy_name(policy));
    auto bank_a = make_bank(64, 30), bank_b = make_bank(64, 30);
    BankUpdaterOptions o = options_for(policy);
    o.similarity_threshold = 0.6;
    o.lsh.tables = 3;
    o.lsh.bits = 4;
    o.lsh.probes = 3;
    o.lsh.max_candidates = 12;  // partial search: determinism must not depend on exhaustiveness
    o.lsh.rerank = 3;
    BankUpdater a(bank_a, nullptr, tokenizer(), small_table(), o, hashed_route(64));
    BankUpdater b(bank_b, nullptr, tokenizer(), small_table(), o, hashed_route(64));
    EXPECT_EQ(a.state_fingerprint(), b.state_fingerprint());
    const uint64_t initial = a.state_fingerprint();
    std::mt19937_64 rng(23);
    for (int step = 0; step < 80; ++step) {
      if (rng() % 3 == 0) {
        std::vector<int64_t> got = {static_cast<int64_t>(rng() % 64), static_cast<int64_t>(rng() % 64)};
        a.record_retrievals(got);
        b.record_retrievals(got);
      } else {
        const std::vector<std::string> facts = {new_fact(step), testing::fact_text(static_cast<int64_t>(rng() % 64))};
        EXPECT_EQ(indices_of(a.apply(facts)), indices_of(b.apply(facts)));
      }
    }
    EXPECT_EQ(a.state_fingerprint(), b.state_fingerprint());
    EXPECT_NE(a.state_fingerprint(), initial);
    EXPECT_TRUE(torch::equal(bank_a.tokens, bank_b.tokens));
    EXPECT_TRUE(torch::equal(bank_a.valid, bank_b.valid));
    EXPECT_EQ(bank_a.texts, bank_b.texts);
    EXPECT_EQ(bank_a.token_counts, bank_b.token_counts);
    // A retrieval on one replica only is visible in the fingerprint.
    b.record_retrievals({40});
    EXPECT_NE(a.state_fingerprint(), b.state_fingerprint());
  }
}

TEST(BankUpdater, ReportNamesIndicesOldAndNewTextsAndSkippedFacts) {
  auto bank = make_bank(16, 16);
  BankUpdater u(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kFifo));
  const std::string long_fact = "This fact has many more tokens than the eight ids a bank entry can hold here.";
  const std::string nul_fact("bad\0fact here", 13);
  const auto r = u.apply({"A brand new fact about Oslo.", "", long_fact, nul_fact});
  ASSERT_EQ(r.writes.size(), 2u);
  const auto& w0 = r.writes[0];
  EXPECT_EQ(w0.index, 4);
  EXPECT_EQ(w0.fact, 0);
  EXPECT_EQ(w0.old_text, testing::fact_text(4));
  EXPECT_EQ(w0.new_text, "A brand new fact about Oslo.");
  EXPECT_TRUE(w0.old_valid);
  int32_t count = 0;
  EXPECT_EQ(w0.ids, memory::encode_entry(tokenizer(), w0.new_text, 8, testing::pad_id(), &count));
  EXPECT_EQ(w0.token_count, count);
  EXPECT_FALSE(w0.truncated);
  EXPECT_EQ(w0.reason, "ring");
  EXPECT_TRUE(std::isnan(w0.similarity));
  const auto& w1 = r.writes[1];
  EXPECT_EQ(w1.index, 5);
  EXPECT_EQ(w1.fact, 2);
  EXPECT_TRUE(w1.truncated);
  EXPECT_GT(w1.token_count, 8);
  EXPECT_EQ(bank.texts[5], long_fact);
  EXPECT_EQ(bank.token_counts[5], w1.token_count);
  EXPECT_EQ(testing::row_ids(bank, 4), w0.ids);
  EXPECT_EQ(r.skipped, (std::vector<std::string>{"fact 1: no tokens", "fact 3: contains a NUL byte"}));
  const auto j = r.to_json();
  EXPECT_EQ(j["policy"], "fifo");
  EXPECT_EQ(j["writes"][0]["index"], 4);
  EXPECT_EQ(j["writes"][0]["old_text"], testing::fact_text(4));
  EXPECT_EQ(j["writes"][0]["new_text"], "A brand new fact about Oslo.");
  EXPECT_TRUE(j["writes"][0]["similarity"].is_null());
  EXPECT_EQ(j["writes"][1]["truncated"], true);
  EXPECT_EQ(j["skipped"].size(), 2u);
  EXPECT_GE(j["seconds"].get<double>(), 0.0);
}

TEST(BankUpdater, SubmitQueuesUntilTheUpdateInterval) {
  auto bank = make_bank(16, 16);
  BankUpdaterOptions o = options_for(UpdatePolicy::kFifo);
  o.update_interval = 3;
  BankUpdater u(bank, nullptr, tokenizer(), {}, o);
  auto r = u.submit({new_fact(0), new_fact(1)});
  EXPECT_TRUE(r.writes.empty());
  EXPECT_EQ(r.pending, 2);
  r = u.submit({});
  EXPECT_TRUE(r.writes.empty());
  EXPECT_EQ(bank.texts[4], testing::fact_text(4));
  r = u.submit({new_fact(2)});
  EXPECT_EQ(indices_of(r), (std::vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(r.pending, 0);
  u.submit({new_fact(3)});
  EXPECT_EQ(indices_of(u.flush()), (std::vector<int64_t>{7}));
}

TEST(BankUpdater, ApplyTextSplitsIntoFacts) {
  auto bank = make_bank(16, 16);
  BankUpdater u(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kFifo));
  const auto r = u.apply_text("Pundil lives in Lisbon and likes green. Ok. Marou works as a pilot in Oslo.");
  ASSERT_EQ(r.writes.size(), 2u);
  EXPECT_EQ(bank.texts[4], "Pundil lives in Lisbon and likes green.");
  EXPECT_EQ(bank.texts[5], "Marou works as a pilot in Oslo.");
}

TEST(BankUpdater, ErrorsNameTheProblem) {
  auto bank = make_bank(16, 16);
  auto msg = error_of([&] { BankUpdater(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kFifo, 1.0)); });
  EXPECT_CONTAINS(msg, "model.freeze_ratio = 1");
  EXPECT_CONTAINS(msg, "no entry is writable");
  msg = error_of([&] { BankUpdater(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kFifo, 1.5)); });
  EXPECT_CONTAINS(msg, "model.freeze_ratio must be in [0, 1]");
  msg = error_of([] { parse_update_policy("lfu"); });
  EXPECT_CONTAINS(msg, "\"lfu\"");
  EXPECT_CONTAINS(msg, "fifo, lru, random, similarity, importance, route");
  msg = error_of([&] { BankUpdater(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kRoute)); });
  EXPECT_CONTAINS(msg, "route");
  msg = error_of([&] { BankUpdater(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kSimilarity)); });
  EXPECT_CONTAINS(msg, "embedding table");
  BankUpdater u(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kLru));
  msg = error_of([&] { u.record_retrievals({5, 99}); });
  EXPECT_CONTAINS(msg, "bank index 99 (position 1) is outside [0, 16)");
  EXPECT_EQ(u.retrieval_count(5), 0u);  // nothing recorded
  EXPECT_THROW(u.retrieval_count(16), Error);
  auto small = make_bank(4, 4);
  auto reader = memory::make_bank_reader(small);
  msg = error_of([&] { BankUpdater(bank, &reader, tokenizer(), {}, options_for(UpdatePolicy::kFifo)); });
  EXPECT_CONTAINS(msg, "reader holds 4 x 8");
  auto wide = make_bank(16, 16);
  wide.tokens = wide.tokens.to(torch::kInt64);
  msg = error_of([&] { BankUpdater(wide, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kFifo)); });
  EXPECT_CONTAINS(msg, "int32");
  // Replacing the bank's tables under a live updater is refused.
  BankUpdater v(bank, nullptr, tokenizer(), {}, options_for(UpdatePolicy::kFifo));
  bank.tokens = bank.tokens.clone();
  msg = error_of([&] { v.apply({new_fact(0)}); });
  EXPECT_CONTAINS(msg, "replaced");
  // A similarity table too small for the bank's ids.
  auto bank2 = make_bank(16, 16);
  BankUpdaterOptions so = options_for(UpdatePolicy::kSimilarity);
  msg = error_of([&] { BankUpdater(bank2, nullptr, tokenizer(), torch::zeros({100, 4}), so); });
  EXPECT_CONTAINS(msg, "outside the vocabulary [0, 100)");
}

TEST(BankUpdaterOptions, FromConfigReadsTheInferenceKeys) {
  Config defaults;
  const auto d = BankUpdaterOptions::from_config(defaults);
  const BankUpdaterOptions plain;
  EXPECT_EQ(d.policy, UpdatePolicy::kFifo);
  EXPECT_DOUBLE_EQ(d.freeze_ratio, 0.2);
  EXPECT_DOUBLE_EQ(d.similarity_threshold, plain.similarity_threshold);
  EXPECT_EQ(d.route_candidates, plain.route_candidates);
  EXPECT_EQ(d.min_fact_chars, 10);
  EXPECT_EQ(d.update_interval, 1);
  EXPECT_EQ(d.lsh.tables, plain.lsh.tables);
  EXPECT_EQ(d.lsh.bits, plain.lsh.bits);
  EXPECT_EQ(d.lsh.probes, plain.lsh.probes);
  EXPECT_EQ(d.lsh.max_candidates, plain.lsh.max_candidates);
  EXPECT_EQ(d.lsh.rerank, plain.lsh.rerank);
  EXPECT_EQ(d.seed, 42u);  // runtime.seed
  Config c;
  for (const char* o : {"inference.update_policy=similarity", "model.freeze_ratio=0.5", "inference.similarity_threshold=0.75",
                        "inference.route_candidates=3", "inference.min_fact_chars=4", "inference.update_interval=2",
                        "inference.lsh_tables=5", "inference.lsh_bits=9", "inference.lsh_probes=2",
                        "inference.lsh_max_candidates=77", "inference.lsh_rerank=5", "runtime.seed=9"}) {
    c.apply_override(o);
  }
  const auto o = BankUpdaterOptions::from_config(c);
  EXPECT_EQ(o.policy, UpdatePolicy::kSimilarity);
  EXPECT_DOUBLE_EQ(o.freeze_ratio, 0.5);
  EXPECT_DOUBLE_EQ(o.similarity_threshold, 0.75);
  EXPECT_EQ(o.route_candidates, 3);
  EXPECT_EQ(o.min_fact_chars, 4);
  EXPECT_EQ(o.update_interval, 2);
  EXPECT_EQ(o.lsh.tables, 5);
  EXPECT_EQ(o.lsh.bits, 9);
  EXPECT_EQ(o.lsh.probes, 2);
  EXPECT_EQ(o.lsh.max_candidates, 77);
  EXPECT_EQ(o.lsh.rerank, 5);
  EXPECT_EQ(o.seed, 9u);
  EXPECT_EQ(o.lsh.seed, 9u);
  EXPECT_THROW(c.apply_override("inference.update_policy=lfu"), Error);
  EXPECT_THROW(c.apply_override("inference.lsh_bits=21"), Error);
  BankUpdaterOptions bad;
  bad.lsh.rerank = 0;
  EXPECT_CONTAINS(error_of([&] { bad.validate(); }), "inference.lsh_rerank must be >= 1");
}

}  // namespace
}  // namespace elm::infer
