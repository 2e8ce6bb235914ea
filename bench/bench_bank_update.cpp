// Bank updates: one-fact BankUpdater::apply latency per policy against a full-scan selection like
// the seed's, measured in the same run, plus the similarity index's build time and recall, and the
// dual path's bank checksum: recomputed from all N entries vs followed through one write.
//
//   bench_bank_update [--entries 1048576] [--length 16] [--dim 128] [--vocab 151936] [--queries 200]
//                     [--policies similarity,lru,importance,fifo,random,route] [--threshold 0.95]
//                     [--tables T --bits B --probes P --max-candidates M --rerank R] [--cone 0.3]
//                     [--seed 1] [--threads K] [--retrievals 32] [--recall-queries Q] [--flush-mb 512]
//                     [--seed-like-repeats 3] [--freeze 0.2]
//   (ELM_TOKENIZER overrides the tokenizer directory; the LSH options default to LshOptions{}.)
//
// Data. The bank's rows are facts of 4 templates about invented people ("Pundor Kesalim lives in
// Oslo, works as a pilot and likes green."; the demo's 24 cities, 22 professions and 13 colours,
// names of 2 + 2..3 syllables), tokenised with the real Qwen3 tokenizer to L ids (as a bank of
// extracted facts looks: shared template words, few distinct values). The embedding table is
// [max(vocab, tokenizer vocab), dim] f32: Gaussian rows / sqrt(dim) plus `cone` times one common
// unit vector, so entry embeddings sit in a cone as real ones do (with cone 0.3 an unrelated fact's
// best match has cosine ~0.92, an edited fact's original ~0.97).
//
// Queries. "update": an existing writable entry's person with one attribute changed (its exact
// nearest entry is the original fact); "new": a fresh person. Timing loops alternate them.
//
// Timing (one fact per call, medians): ours back to back ("warm": caches hold what earlier
// updates touched) and ours after streaming `flush-mb` MiB before each update ("cold": as after a
// model forward pass); then the baseline, in its own loop so its BLAS threads (which spin after
// their work) never share the cores with our single-threaded update. Baselines, the strongest full
// scans: similarity - the fact's embedding (plain C++, as ours), cosine against a precomputed,
// L2-normalised [N, d] f32 matrix of every entry (torch::mv, BLAS, all threads), argmax over the
// writable entries, an argmin over write times when below the threshold, the row write and the
// matrix row update; lru / importance - an argmin over N last-use times / retrieval counts (torch)
// and the write. "seed_like": what the seed does per fact (every entry's embedding recomputed from
// the bank, cosine, argmax), `seed-like-repeats` times. fifo, random and route need no scan in the
// seed either: their latency is printed without a ratio (route with a fake router, so it times the
// bookkeeping only). Before each update `retrievals` random entries are recorded as retrieved
// (both sides; not timed).
//
// Recall: for `recall-queries` update and new facts, the LSH's choice against the exact scan with
// the same cosine (SimilarityIndex::nearest_exact; also checked against the matrix argmax), and
// whether the policy's decision (replace entry X, or write the oldest) is the same.
//
// Output: one JSON line per measurement.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "bench_timing.h"
#include "core/error.h"
#include "core/parse.h"
#include "infer/bank_checksum.h"
#include "infer/bank_updater.h"
#include "memory/bank.h"
#include "memory/candidates.h"
#include "memory/projection.h"
#include "text/tokenizer.h"
#include "train/synth.h"

namespace {

using elm::bench::median;
using elm::bench::now_ms;
using namespace elm;

struct Args {
  int64_t entries = int64_t{1} << 20, length = 16, dim = 128, vocab = 151936, queries = 200, retrievals = 32;
  int64_t recall_queries = -1;  // -1: = queries; 0: skip the recall measurement
  int64_t flush_mb = 512;       // streamed before each "cold" update
  int64_t seed_like_repeats = 3;
  double threshold = 0.95, cone = 0.3, freeze = 0.2;
  uint64_t seed = 1;
  int64_t threads = 0;
  infer::LshOptions lsh;
  std::vector<std::string> policies = {"similarity", "lru", "importance", "fifo", "random", "route"};
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b <= s.size()) {
    size_t e = s.find(',', b);
    if (e == std::string::npos) e = s.size();
    if (e > b) out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    ELM_CHECK(i + 1 < argc, "bench_bank_update: ", k, " needs a value");
    const std::string v = argv[++i];
    if (k == "--entries") a.entries = parse_int(v, k);
    else if (k == "--length") a.length = parse_int(v, k);
    else if (k == "--dim") a.dim = parse_int(v, k);
    else if (k == "--vocab") a.vocab = parse_int(v, k);
    else if (k == "--queries") a.queries = parse_int(v, k);
    else if (k == "--retrievals") a.retrievals = parse_int(v, k);
    else if (k == "--recall-queries") a.recall_queries = parse_int(v, k);
    else if (k == "--flush-mb") a.flush_mb = parse_int(v, k);
    else if (k == "--seed-like-repeats") a.seed_like_repeats = parse_int(v, k);
    else if (k == "--threshold") a.threshold = parse_float(v, k);
    else if (k == "--cone") a.cone = parse_float(v, k);
    else if (k == "--freeze") a.freeze = parse_float(v, k);
    else if (k == "--seed") a.seed = static_cast<uint64_t>(parse_int(v, k));
    else if (k == "--threads") a.threads = parse_int(v, k);
    else if (k == "--tables") a.lsh.tables = parse_int(v, k);
    else if (k == "--bits") a.lsh.bits = parse_int(v, k);
    else if (k == "--probes") a.lsh.probes = parse_int(v, k);
    else if (k == "--max-candidates") a.lsh.max_candidates = parse_int(v, k);
    else if (k == "--rerank") a.lsh.rerank = parse_int(v, k);
    else if (k == "--policies") a.policies = split_commas(v);
    else fail("bench_bank_update: unknown option ", k);
  }
  return a;
}

// ELM_TOKENIZER, else <source>/data/tokenizers/qwen3 when __FILE__ is absolute, else the path from
// the repository root (ccache may make __FILE__ relative).
std::string tokenizer_dir() {
  if (const char* env = std::getenv("ELM_TOKENIZER")) return env;
  const auto from_source = std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / "tokenizers" / "qwen3";
  if (std::filesystem::exists(from_source)) return from_source.string();
  return "data/tokenizers/qwen3";
}

// Invented people and their fact sentences.
struct Person {
  std::string name;
  int tmpl, city, job, colour;
};

class FactMaker {
 public:
  explicit FactMaker(uint64_t seed) : rng_(seed) {}
  Person person() {
    Person p;
    p.name = syllables(2) + " " + syllables(2 + static_cast<int>(rng_() % 2));
    p.tmpl = static_cast<int>(rng_() % 4);
    p.city = static_cast<int>(rng_() % cities().size());
    p.job = static_cast<int>(rng_() % jobs().size());
    p.colour = static_cast<int>(rng_() % colours().size());
    return p;
  }
  // The same person with one attribute changed to another value.
  Person edited(Person p) {
    switch (rng_() % 3) {
      case 0: p.city = static_cast<int>((p.city + 1 + rng_() % (cities().size() - 1)) % cities().size()); break;
      case 1: p.job = static_cast<int>((p.job + 1 + rng_() % (jobs().size() - 1)) % jobs().size()); break;
      default: p.colour = static_cast<int>((p.colour + 1 + rng_() % (colours().size() - 1)) % colours().size());
    }
    return p;
  }
  static std::string sentence(const Person& p) {
    const std::string& c = cities()[p.city];
    const std::string& j = jobs()[p.job];
    const std::string& k = colours()[p.colour];
    switch (p.tmpl) {
      case 0: return p.name + " lives in " + c + ", works as a " + j + " and likes " + k + ".";
      case 1: return p.name + ", a " + j + " from " + c + ", likes " + k + ".";
      case 2: return p.name + " works as a " + j + " in " + c + " and loves " + k + ".";
      default: return "The " + j + " " + p.name + " moved to " + c + " and paints in " + k + ".";
    }
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  static const std::vector<std::string>& cities() { return train::attribute_values(train::Attribute::City); }
  static const std::vector<std::string>& jobs() { return train::attribute_values(train::Attribute::Profession); }
  static const std::vector<std::string>& colours() { return train::attribute_values(train::Attribute::Colour); }
  std::string syllables(int n) {
    static const char* s[] = {"ka", "to", "ren", "mi", "sul", "da", "vo", "lin", "pe", "gra", "nor", "ti",
                              "bas", "qua", "el", "mur", "zo", "fen", "ri", "chal", "ou", "bri", "tam", "se",
                              "lo", "wix", "an", "dre", "po", "gil", "ur", "hes", "ni", "cor", "ya", "ves",
                              "mo", "thi", "pun", "dil", "kes", "ta", "mar", "ou", "sim", "bel", "ra", "jun"};
    std::string out;
    for (int i = 0; i < n; ++i) out += s[rng_() % (sizeof(s) / sizeof(s[0]))];
    out[0] = static_cast<char>(out[0] - 'a' + 'A');
    return out;
  }
  std::mt19937_64 rng_;
};

void print(const nlohmann::json& j) { std::printf("%s\n", j.dump().c_str()); std::fflush(stdout); }

struct Query {
  std::string fact;
  int64_t original = -1;  // update queries: the entry holding the unedited fact
};

std::vector<Query> make_queries(FactMaker& maker, const std::vector<Person>& people, int64_t first, int64_t count,
                                bool updates) {
  std::vector<Query> out;
  for (int64_t q = 0; q < count; ++q) {
    if (updates) {
      const int64_t i = first + static_cast<int64_t>(maker.rng()() % (people.size() - first));
      out.push_back({FactMaker::sentence(maker.edited(people[i])), i});
    } else {
      out.push_back({FactMaker::sentence(maker.person()), -1});
    }
  }
  return out;
}

std::vector<int64_t> random_retrievals(std::mt19937_64& rng, int64_t n, int64_t count) {
  std::vector<int64_t> out;
  for (int64_t k = 0; k < count; ++k) out.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(n)));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args = parse_args(argc, argv);
    if (args.threads > 0) at::set_num_threads(static_cast<int>(args.threads));
    const auto tok = text::Tokenizer::load(tokenizer_dir());
    const int64_t N = args.entries, L = args.length, d = args.dim;
    const int64_t V = std::max<int64_t>(args.vocab, tok.vocab_size());
    const int64_t pad = memory::default_pad_id(tok);

    // The bank: N facts about invented people.
    double t0 = now_ms();
    FactMaker maker(args.seed);
    std::vector<Person> people;
    std::vector<std::string> facts;
    people.reserve(static_cast<size_t>(N));
    facts.reserve(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; ++i) {
      people.push_back(maker.person());
      facts.push_back(FactMaker::sentence(people.back()));
    }
    memory::MemoryBank bank = memory::build_bank(facts, tok, N, L, pad);
    facts.clear();
    facts.shrink_to_fit();
    const double bank_seconds = (now_ms() - t0) / 1000;

    auto gen = memory::make_generator(args.seed);
    torch::Tensor table = torch::randn({V, d}, gen, torch::kFloat32) / std::sqrt(static_cast<double>(d));
    {
      auto common = torch::randn({1, d}, gen, torch::kFloat32);
      table += args.cone * common / common.norm();
    }
    print({{"bench", "bank_update"}, {"metric", "setup"}, {"entries", N}, {"length", L}, {"dim", d}, {"vocab", V},
           {"threads", at::get_num_threads()}, {"bank_build_seconds", bank_seconds},
           {"mean_tokens", memory::bank_stats(bank).mean_length}, {"truncated", memory::bank_stats(bank).truncated}});

    infer::BankUpdaterOptions base;
    base.freeze_ratio = args.freeze;
    base.similarity_threshold = args.threshold;
    base.seed = args.seed;
    base.lsh = args.lsh;
    const int64_t frozen = static_cast<int64_t>(std::floor(args.freeze * N + 1e-9));
    std::mt19937_64 rng(args.seed + 99);

    for (const std::string& name : args.policies) {
      infer::BankUpdaterOptions o = base;
      o.policy = infer::parse_update_policy(name);
      const auto fake_route = [N](const std::vector<int32_t>& ids) {
        uint64_t h = 1469598103934665603ull;
        for (int32_t id : ids) h = (h ^ static_cast<uint64_t>(id)) * 1099511628211ull;
        std::vector<int64_t> out;
        for (int k = 0; k < 8; ++k) {
          h = h * 6364136223846793005ull + 1442695040888963407ull;
          out.push_back(static_cast<int64_t>((h >> 11) % static_cast<uint64_t>(N)));
        }
        return out;
      };
      t0 = now_ms();
      infer::BankUpdater updater(bank, nullptr, tok, table, o, fake_route);
      const double build_seconds = (now_ms() - t0) / 1000;

      // The full-scan baseline's state.
      torch::Tensor matrix;  // [N, d] normalised entry embeddings (similarity)
      double matrix_seconds = 0;
      std::vector<int64_t> last(static_cast<size_t>(N), 0);  // write / use times
      torch::Tensor last_t = torch::from_blob(last.data(), {N}, torch::kInt64);
      std::vector<int64_t> counts(static_cast<size_t>(N), 0);
      torch::Tensor counts_t = torch::from_blob(counts.data(), {N}, torch::kInt64);
      int64_t clock = 0;
      std::vector<int32_t> shadow(bank.tokens.data_ptr<int32_t>(), bank.tokens.data_ptr<int32_t>() + N * L);
      infer::TokenEmbeddings emb;
      if (o.policy == infer::UpdatePolicy::kSimilarity) {
        t0 = now_ms();
        emb = infer::TokenEmbeddings(table);
        auto e = memory::mean_token_embeddings(bank.tokens, bank.valid, pad, table);
        matrix = e.embeddings;  // normalised in place: at d = 2560 the matrix alone is 10 GiB
        matrix.div_(matrix.norm(2, 1, true).clamp_min(1e-12));
        matrix.masked_fill_(e.valid.logical_not().unsqueeze(1), 0.0f);
        matrix_seconds = (now_ms() - t0) / 1000;
        const auto st = updater.similarity_index()->stats();
        print({{"bench", "bank_update"}, {"metric", "index_build"}, {"policy", name}, {"entries", N}, {"dim", d},
               {"tables", o.lsh.tables}, {"bits", updater.similarity_index()->options().bits}, {"probes", o.lsh.probes},
               {"max_candidates", o.lsh.max_candidates}, {"rerank", o.lsh.rerank}, {"updater_build_seconds", build_seconds},
               {"index_build_seconds", st.build_seconds}, {"baseline_matrix_seconds", matrix_seconds},
               {"indexed", st.entries}, {"buckets_used", st.buckets_used}, {"mean_bucket", st.mean_bucket},
               {"largest_bucket", st.largest_bucket}});

        // Recall of the LSH against the exact scan, before any write.
        auto* index = updater.similarity_index();
        const int64_t recall_queries = args.recall_queries < 0 ? args.queries : args.recall_queries;
        for (const bool updates : {true, false}) {
          if (recall_queries == 0) break;
          const auto queries = make_queries(maker, people, frozen, recall_queries, updates);
          int64_t same = 0, decision_same = 0, original_found = 0, original_exact = 0, matrix_agree = 0;
          int64_t above = 0;
          double cands = 0, ratio_sum = 0, exact_ms = 0, exact_cos = 0, approx_ms = 0;
          for (const auto& q : queries) {
            const auto ids = memory::encode_entry(tok, q.fact, L, pad);
            const auto s = index->sketch(ids);
            const double ta = now_ms();
            const auto approx = index->nearest(s);
            approx_ms += now_ms() - ta;
            const double te = now_ms();
            const auto exact = index->nearest_exact(s);
            exact_ms += now_ms() - te;
            auto qe = torch::from_blob(const_cast<float*>(s.embedding.data()), {d}, torch::kFloat32);
            const int64_t m_best =
                frozen + matrix.narrow(0, frozen, N - frozen).mv(qe).argmax().item<int64_t>();
            matrix_agree += m_best == exact.index;
            same += approx.index == exact.index;
            exact_cos += exact.cosine;
            cands += static_cast<double>(approx.candidates);
            ratio_sum += exact.cosine != 0 ? approx.cosine / exact.cosine : 1.0;
            const bool a_hit = approx.cosine >= args.threshold, e_hit = exact.cosine >= args.threshold;
            above += e_hit;
            decision_same += (a_hit == e_hit) && (!a_hit || approx.index == exact.index);
            original_found += approx.index == q.original;
            original_exact += exact.index == q.original;
          }
          const double n = static_cast<double>(queries.size());
          nlohmann::json j = {{"bench", "bank_update"}, {"metric", "lsh_recall"}, {"queries", updates ? "update" : "new"},
                              {"count", queries.size()}, {"recall_vs_exact", same / n},
                              {"exact_scan_agrees_with_matrix_argmax", matrix_agree / n},
                              {"decision_agreement", decision_same / n}, {"exact_above_threshold", above / n},
                              {"mean_cosine_ratio", ratio_sum / n}, {"mean_exact_cosine", exact_cos / n},
                              {"mean_candidates", cands / n}, {"nearest_us", approx_ms * 1000 / n},
                              {"exact_scan_ms", exact_ms / n}};
          if (updates) {
            j["lsh_finds_original"] = original_found / n;
            j["exact_is_original"] = original_exact / n;
          }
          print(j);
        }
      }

      // Timing, one fact per call. Ours twice: back to back ("warm": the caches hold what the
      // previous updates touched) and after streaming a buffer larger than the caches before each
      // update ("cold": as after a model forward pass). Then the baseline. The loops are separate
      // so the BLAS threads of the baseline (which spin after their work) never share the cores
      // with our single-threaded update.
      std::vector<std::string> timing_facts;
      {
        const auto upd = make_queries(maker, people, frozen, args.queries, true);
        const auto fresh = make_queries(maker, people, frozen, args.queries, false);
        for (int64_t q = 0; q < 2 * args.queries; ++q) timing_facts.push_back((q % 2 ? fresh : upd)[q / 2].fact);
      }
      std::vector<double> ours, ours_cold, baseline;
      std::vector<std::vector<int64_t>> retrieved;
      for (int64_t q = 0; q < 2 * args.queries; ++q) retrieved.push_back(random_retrievals(rng, N, args.retrievals));
      std::vector<char> flush(static_cast<size_t>(args.flush_mb) << 20, 1);
      volatile char sink = 0;
      for (int64_t q = 0; q < 2 * args.queries; ++q) {
        const bool cold = q >= args.queries;
        if (cold) {
          char acc = 0;
          for (size_t k = 0; k < flush.size(); k += 64) acc = static_cast<char>(acc + flush[k]);
          sink = static_cast<char>(sink + acc);
        }
        updater.record_retrievals(retrieved[q]);
        const double a = now_ms();
        const auto report = updater.apply({timing_facts[q]});
        (cold ? ours_cold : ours).push_back(now_ms() - a);
        if (report.writes.size() != 1) fail("bench: apply wrote ", report.writes.size(), " entries");
      }
      std::vector<float> e(static_cast<size_t>(d));
      for (int64_t q = 0; q < 2 * args.queries && o.policy != infer::UpdatePolicy::kFifo &&
                          o.policy != infer::UpdatePolicy::kRandom && o.policy != infer::UpdatePolicy::kRoute;
           ++q) {
        const std::string& fact = timing_facts[q];
        for (int64_t i : retrieved[q]) {
          last[i] = ++clock;
          ++counts[i];
        }
        const double a = now_ms();
        int64_t chosen = -1;
        const auto ids = memory::encode_entry(tok, fact, L, pad);
        if (o.policy == infer::UpdatePolicy::kSimilarity) {
          emb.mean_of(ids.data(), L, pad, e.data());
          auto qe = torch::from_blob(e.data(), {d}, torch::kFloat32);
          auto scores = matrix.narrow(0, frozen, N - frozen).mv(qe);
          const auto best = scores.max(0);
          const float norm = qe.norm().item<float>();
          chosen = frozen + std::get<1>(best).item<int64_t>();
          if (std::get<0>(best).item<float>() < args.threshold * norm) {
            chosen = frozen + last_t.narrow(0, frozen, N - frozen).argmin().item<int64_t>();
          }
          matrix[chosen].copy_(qe / std::max(norm, 1e-12f));
        } else if (o.policy == infer::UpdatePolicy::kLru) {
          chosen = frozen + last_t.narrow(0, frozen, N - frozen).argmin().item<int64_t>();
        } else if (o.policy == infer::UpdatePolicy::kImportance) {
          chosen = frozen + counts_t.narrow(0, frozen, N - frozen).argmin().item<int64_t>();
          counts[chosen] = 0;
        }
        std::copy(ids.begin(), ids.end(), shadow.begin() + chosen * L);  // the baseline's own copy of the rows
        last[chosen] = ++clock;
        baseline.push_back(now_ms() - a);
      }
      // The seed's own way (similarity): every entry's candidate embedding recomputed from the bank
      // for each fact (memory/candidates.h, torch), cosine, argmax. A few repeats: seconds each.
      std::vector<double> seed_like;
      for (int64_t q = 0; q < args.seed_like_repeats && o.policy == infer::UpdatePolicy::kSimilarity; ++q) {
        const double a = now_ms();
        const auto ids = memory::encode_entry(tok, timing_facts[q], L, pad);
        auto f = memory::mean_token_embeddings(torch::tensor(ids, torch::kInt32).to(torch::kInt64).unsqueeze(0),
                                               torch::ones({1}, torch::kBool), pad, table);
        auto all = memory::mean_token_embeddings(bank.tokens.narrow(0, frozen, N - frozen),
                                                 bank.valid.narrow(0, frozen, N - frozen), pad, table);
        auto cos = torch::cosine_similarity(all.embeddings, f.embeddings.expand({N - frozen, -1}), 1);
        const int64_t chosen = frozen + cos.masked_fill(all.valid.logical_not(), -2.0f).argmax().item<int64_t>();
        seed_like.push_back(now_ms() - a);
        (void)chosen;
      }

      nlohmann::json j = {{"bench", "bank_update"}, {"metric", "latency"}, {"policy", name}, {"entries", N},
                          {"dim", d}, {"queries", args.queries}, {"ours_us", median(ours) * 1000},
                          {"ours_cold_us", median(ours_cold) * 1000}};
      if (!baseline.empty()) {
        j["baseline_us"] = median(baseline) * 1000;
        j["ratio"] = median(baseline) / median(ours);
        j["ratio_cold"] = median(baseline) / median(ours_cold);
        if (!seed_like.empty()) {
          j["seed_like_us"] = median(seed_like) * 1000;
          j["ratio_vs_seed_like"] = median(seed_like) / median(ours);
        }
      } else {
        j["baseline_us"] = nullptr;
        j["ratio"] = nullptr;
        j["ratio_cold"] = nullptr;
      }
      print(j);
    }

    // The dual path's replica proof: the bank checksum recomputed from all N entries (what a
    // full check costs) against following one write (BankChecksum::apply), and whether the
    // followed checksum still equals the recomputed one after the writes.
    {
      std::vector<double> full_ms, follow_us;
      infer::BankChecksum followed;
      for (int rep = 0; rep < 5; ++rep) {
        const double a = now_ms();
        followed = infer::BankChecksum::of(bank);
        full_ms.push_back(now_ms() - a);
      }
      infer::BankUpdaterOptions o = base;
      o.policy = infer::UpdatePolicy::kFifo;
      infer::BankUpdater updater(bank, nullptr, tok, table, o);
      const auto queries = make_queries(maker, people, frozen, args.queries, false);
      for (const auto& q : queries) {
        const auto report = updater.apply({q.fact});
        const double a = now_ms();
        for (const auto& w : report.writes) followed.apply(w);
        follow_us.push_back((now_ms() - a) * 1000);
      }
      const bool same = followed == infer::BankChecksum::of(bank);
      print({{"bench", "bank_update"}, {"metric", "checksum"}, {"entries", N}, {"writes", queries.size()},
             {"full_ms", median(full_ms)}, {"follow_one_write_us", median(follow_us)},
             {"ratio", median(full_ms) * 1000 / median(follow_us)}, {"followed_equals_full", same}});
      if (!same) fail("bench: the followed checksum differs from the recomputed one");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_bank_update: %s\n", e.what());
    return 1;
  }
}
