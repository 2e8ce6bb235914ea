// Sharded-bank retrieval (ShardedBankReader::fetch) against a raw MPI_Alltoallv that moves exactly
// the same bytes between every pair of ranks, in the same run. Run under MPI:
//
//   mpirun -np G bench_retrieval [--entries 1048576] [--length 16] [--batch 32] [--tokens 64]
//                                [--candidates 8] [--pattern uniform,skewed] [--sharding block]
//                                [--reps 30] [--warmup 5] [--seed 1]
//
// Each rank holds its shard of an N x L bank (int32 tokens + validity, as load_sharded_bank leaves
// it; the contents are a formula of the entry index, so answers can be checked) and asks for one
// memory layer's candidates: batch x tokens x candidates indices
// (32 x 64 x 8 = 16,384 by default), drawn per rank from
//   uniform: every entry equally likely (an untrained router);
//   skewed:  Zipf (s = 1) popularity, the same popular entries on every rank, scattered over the
//            index space by a fixed permutation (a trained router that favours some entries).
//
// Timing: after `warmup` untimed rounds, each repetition is a barrier, then fetch(), and the
// repetition's time is the slowest rank's (MPI_Allreduce MAX); the median over repetitions is
// reported. The baseline, timed the same way and interleaved with fetch(), is ONE MPI_Alltoallv of
// bytes (MPI_BYTE) whose per-pair counts are what fetch() moves in total between that pair
// (indices out, 8 B each, plus rows back, (L + 1) x 4 B each; nothing for the self pair, since
// fetch() reads a rank's own entries from its shard without MPI), with counts known in advance
// and buffers allocated once: the cost of the data movement alone, with no deduplication, no
// count exchange, no second round trip and no gathering. fetch() cannot beat it;
// ratio_vs_alltoallv says how close it comes. The two-round baseline (indices, then rows, as
// fetch() must do since the rows depend on the indices) is reported as alltoallv_two_rounds_ms.
//
// local_only_ms times the same request (indices taken modulo the shard size) on a one-rank reader
// over this rank's shard alone (MPI_COMM_SELF): the deduplication, gathering and int64 output
// without any exchange, i.e. the part of retrieval_ms that no transport can remove.
//
// One JSON line per pattern, printed by rank 0: ranks, entries, length, queries (ranks x batch x
// tokens), the request totals over ranks (requested, unique, remote), bytes_moved (over all
// ranks: what crosses MPI, index and row bytes; a rank's own entries are not counted),
// bytes_per_query (bytes_moved / queries), max_over_mean_requests_per_owner (unique requests each
// owner serves, own ones included), bank_bytes_per_rank (rank 0's shard), the medians and the
// ratios (null with one rank, where nothing crosses MPI). The fetched rows are checked against
// the bank's generating formula once per pattern (a wrong answer aborts the run, exit code 1).
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "bench_timing.h"
#include "core/error.h"
#include "core/parse.h"
#include "dist/abort.h"
#include "dist/bank_sharding.h"
#include "dist/mpi_communicator.h"
#include "dist/mpi_env.h"
#include "dist/mpi_error.h"
#include "dist/sharded_bank_reader.h"

namespace {

using elm::bench::median;
using elm::bench::now_ms;

using elm::dist::BankSharding;
using elm::dist::ShardLayout;

constexpr int64_t kVocab = 151936;
constexpr int64_t kPad = 151643;

struct Args {
  int64_t entries = int64_t{1} << 20, length = 16, batch = 32, tokens = 64, candidates = 8;
  int64_t reps = 30, warmup = 5;
  uint64_t seed = 1;
  std::vector<std::string> patterns = {"uniform", "skewed"};
  BankSharding sharding = BankSharding::kBlock;
};

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const size_t end = comma == std::string::npos ? text.size() : comma;
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; i += 2) {
    const std::string k = argv[i];
    ELM_CHECK(i + 1 < argc, "bench_retrieval: option ", k, " needs a value");
    const std::string v = argv[i + 1];
    if (k == "--entries") a.entries = elm::parse_int(v, k);
    else if (k == "--length") a.length = elm::parse_int(v, k);
    else if (k == "--batch") a.batch = elm::parse_int(v, k);
    else if (k == "--tokens") a.tokens = elm::parse_int(v, k);
    else if (k == "--candidates") a.candidates = elm::parse_int(v, k);
    else if (k == "--reps") a.reps = elm::parse_int(v, k);
    else if (k == "--warmup") a.warmup = elm::parse_int(v, k);
    else if (k == "--seed") a.seed = static_cast<uint64_t>(elm::parse_int(v, k));
    else if (k == "--pattern") a.patterns = split(v);
    else if (k == "--sharding") a.sharding = elm::dist::parse_sharding(v, k);
    else elm::fail("bench_retrieval: unknown option ", k);
  }
  ELM_CHECK(a.entries >= 1 && a.length >= 1 && a.reps >= 1 && a.warmup >= 0 && a.batch >= 1 && a.tokens >= 1 &&
                a.candidates >= 1,
            "bench_retrieval: sizes and --reps must be >= 1");
  for (const auto& p : a.patterns) {
    ELM_CHECK(p == "uniform" || p == "skewed", "bench_retrieval: --pattern ", p, " (expected uniform or skewed)");
  }
  return a;
}

// The bank's contents are a formula of the global index, so any rank can check any answer:
// token j of entry i = ((i mod V) * 7919 + j) mod V (fits int32), valid unless i % 5 == 0.
std::pair<torch::Tensor, torch::Tensor> bank_rows(const torch::Tensor& global, int64_t L) {
  auto base = torch::remainder(global, kVocab).to(torch::kInt32).mul_(7919).unsqueeze(-1);
  auto tokens = torch::remainder(base + torch::arange(L, torch::kInt32), static_cast<int32_t>(kVocab));
  return {tokens, torch::remainder(global, 5).ne(0)};
}

// This rank's shard, built in chunks (int32 only, no [rows, L] int64 temporary).
std::pair<torch::Tensor, torch::Tensor> make_shard(const ShardLayout& layout, int rank, int64_t L) {
  const int64_t rows = layout.rows_of(rank);
  auto tokens = torch::empty({rows, L}, torch::kInt32);
  auto valid = torch::empty({rows}, torch::kBool);
  const int64_t chunk = int64_t{1} << 20;
  for (int64_t start = 0; start < rows; start += chunk) {
    const int64_t n = std::min(chunk, rows - start);
    auto local = torch::arange(start, start + n, torch::kInt64);
    auto global = layout.sharding() == BankSharding::kBlock ? local + layout.first_of(rank)
                                                            : local * layout.group_size() + rank;
    auto [t, v] = bank_rows(global, L);
    tokens.narrow(0, start, n).copy_(t);
    valid.narrow(0, start, n).copy_(v);
  }
  return {tokens, valid};
}

// One memory layer's candidate indices [B, T, C] for `rank`.
torch::Tensor make_request(const Args& a, const std::string& pattern, int rank) {
  auto gen = at::detail::createCPUGenerator(a.seed * 1000003u + static_cast<uint64_t>(rank));
  const std::vector<int64_t> shape = {a.batch, a.tokens, a.candidates};
  const int64_t n = a.entries;
  if (pattern == "uniform") return torch::randint(0, n, shape, gen, torch::kInt64);
  // Zipf with s = 1 by inversion of the continuous 1/x law: popularity rank k = floor((N+1)^u) - 1
  // in [0, N), P(k) ~ 1 / (k + 1). Popular ranks are scattered over the entries by the fixed
  // permutation k -> (k * 2654435761 + 12345) mod N (a bijection when the prime does not divide N).
  auto u = torch::rand(shape, gen, torch::kFloat64);
  auto k = torch::exp(u * std::log(double(n) + 1.0)).floor().sub_(1).clamp_(0, double(n - 1)).to(torch::kInt64);
  return torch::remainder(k * int64_t{2654435761} + 12345, n);
}

double max_over_ranks(double v, MPI_Comm comm) {
  double out = 0;
  MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, comm);
  return out;
}

int64_t sum_over_ranks(int64_t v, MPI_Comm comm) {
  int64_t out = 0;
  MPI_Allreduce(&v, &out, 1, MPI_INT64_T, MPI_SUM, comm);
  return out;
}

// A raw MPI_Alltoallv of bytes with fixed counts and buffers.
struct RawAlltoallv {
  std::vector<int> send_counts, send_displs, recv_counts, recv_displs;
  std::vector<char> send, recv;
  RawAlltoallv(const std::vector<int64_t>& send_bytes, const std::vector<int64_t>& recv_bytes) {
    int64_t s = 0, r = 0;
    for (size_t i = 0; i < send_bytes.size(); ++i) {
      ELM_CHECK(s + send_bytes[i] < (int64_t{1} << 31) && r + recv_bytes[i] < (int64_t{1} << 31),
                "bench_retrieval: the baseline's byte counts exceed MPI's int");
      send_counts.push_back(static_cast<int>(send_bytes[i]));
      send_displs.push_back(static_cast<int>(s));
      recv_counts.push_back(static_cast<int>(recv_bytes[i]));
      recv_displs.push_back(static_cast<int>(r));
      s += send_bytes[i];
      r += recv_bytes[i];
    }
    send.assign(static_cast<size_t>(std::max<int64_t>(s, 1)), 1);
    recv.assign(static_cast<size_t>(std::max<int64_t>(r, 1)), 0);
  }
  void run(MPI_Comm comm) {
    elm::dist::check_mpi(MPI_Alltoallv(send.data(), send_counts.data(), send_displs.data(), MPI_BYTE, recv.data(),
                                       recv_counts.data(), recv_displs.data(), MPI_BYTE, comm),
                         "MPI_Alltoallv", "bench_retrieval");
  }
};

}  // namespace

int main(int argc, char** argv) {
  elm::dist::MpiEnvironment mpi(&argc, &argv);
  try {
    const Args a = parse(argc, argv);
    torch::NoGradGuard no_grad;
    elm::dist::MpiCommunicator comm(MPI_COMM_WORLD);
    MPI_Comm raw = comm.comm();
    const int g = comm.size(), rank = comm.rank();
    const int64_t L = a.length;
    ShardLayout layout(a.entries, g, a.sharding);
    auto [tokens, valid] = make_shard(layout, rank, L);
    elm::dist::ShardedBankReader reader(comm, layout, tokens, valid, L, kPad);
    // The same work without communication: a one-rank reader over this rank's shard alone.
    elm::dist::MpiCommunicator self(MPI_COMM_SELF);
    const int64_t shard_rows = std::max<int64_t>(tokens.size(0), 1);
    elm::dist::ShardedBankReader local_reader(self, ShardLayout(tokens.size(0), 1, a.sharding), tokens, valid, L,
                                              kPad);
    const int64_t row_bytes = (L + 1) * 4;

    for (const std::string& pattern : a.patterns) {
      const torch::Tensor request = make_request(a, pattern, rank);
      // What fetch() moves between each pair: my unique indices go to their owners (8 B each) and
      // come back as rows; the indices others ask of me come in and go back as rows.
      const torch::Tensor unique = std::get<0>(at::_unique2(request.reshape({-1})));
      const torch::Tensor owner_counts = torch::bincount(layout.owner(unique), {}, g);
      std::vector<int64_t> asks(owner_counts.data_ptr<int64_t>(), owner_counts.data_ptr<int64_t>() + g);
      std::vector<int64_t> asked(g, 0);
      std::vector<int64_t> out_bytes(g), in_bytes(g), idx_out(g), idx_in(g), rows_out(g), rows_in(g);
      asks[static_cast<size_t>(rank)] = 0;  // a rank's own entries never go through MPI
      std::vector<int64_t> served_by(g, 0);  // unique requests each owner serves, own ones included
      for (int r = 0; r < g; ++r) served_by[r] = owner_counts[r].item<int64_t>();
      MPI_Alltoall(asks.data(), 1, MPI_INT64_T, asked.data(), 1, MPI_INT64_T, raw);
      for (int r = 0; r < g; ++r) {
        idx_out[r] = asks[r] * 8;
        idx_in[r] = asked[r] * 8;
        rows_out[r] = asked[r] * row_bytes;
        rows_in[r] = asks[r] * row_bytes;
        out_bytes[r] = idx_out[r] + rows_out[r];
        in_bytes[r] = idx_in[r] + rows_in[r];
      }
      RawAlltoallv one(out_bytes, in_bytes), indices_round(idx_out, idx_in), rows_round(rows_out, rows_in);

      // Correctness, and the statistics fetch() reports (which must match the baseline's bytes).
      elm::memory::BankRows got = reader.fetch(request);
      auto [want_tokens, want_valid] = bank_rows(request, L);
      ELM_CHECK(torch::equal(got.tokens, want_tokens.to(torch::kInt64)) && torch::equal(got.valid, want_valid),
                "bench_retrieval: fetch() returned wrong rows on rank ", rank);
      const auto stats = reader.last_stats();
      int64_t sent = 0;
      for (int r = 0; r < g; ++r) sent += out_bytes[r];
      ELM_CHECK(stats.bytes_sent == sent, "bench_retrieval: fetch() sent ", stats.bytes_sent,
                " bytes but the baseline moves ", sent);

      const torch::Tensor local_request = torch::remainder(request, shard_rows);
      std::vector<double> t_fetch, t_one, t_two, t_local;
      for (int64_t rep = 0; rep < a.warmup + a.reps; ++rep) {
        comm.barrier();
        double t0 = now_ms();
        reader.fetch(request);
        const double tf = max_over_ranks(now_ms() - t0, raw);
        comm.barrier();
        t0 = now_ms();
        one.run(raw);
        const double t1 = max_over_ranks(now_ms() - t0, raw);
        comm.barrier();
        t0 = now_ms();
        indices_round.run(raw);
        rows_round.run(raw);
        const double t2 = max_over_ranks(now_ms() - t0, raw);
        comm.barrier();
        t0 = now_ms();
        if (tokens.size(0) > 0) local_reader.fetch(local_request);  // a rank that owns nothing has no shard
        const double t3 = max_over_ranks(now_ms() - t0, raw);
        if (rep < a.warmup) continue;
        t_local.push_back(t3);
        t_fetch.push_back(tf);
        t_one.push_back(t1);
        t_two.push_back(t2);
      }

      // Load of the busiest owner over the mean (unique requests served), and totals.
      std::vector<int64_t> served(g, 0);
      MPI_Allreduce(served_by.data(), served.data(), g, MPI_INT64_T, MPI_SUM, raw);
      int64_t max_served = 0, all_served = 0;
      for (int64_t s : served) {
        max_served = std::max(max_served, s);
        all_served += s;
      }
      const int64_t requested = sum_over_ranks(stats.requested, raw);
      const int64_t unique_all = sum_over_ranks(stats.unique, raw);
      const int64_t remote_all = sum_over_ranks(stats.remote, raw);
      const int64_t bytes_all = sum_over_ranks(stats.bytes_sent, raw);
      const int64_t queries = int64_t{g} * a.batch * a.tokens;
      const double fetch_ms = median(t_fetch), one_ms = median(t_one), two_ms = median(t_two);
      const double local_ms = median(t_local);
      char ratios[128];  // no ratio when nothing crosses MPI (one rank)
      if (bytes_all > 0) {
        std::snprintf(ratios, sizeof ratios, "%.3f,\"ratio_vs_two_rounds\":%.3f", fetch_ms / one_ms,
                      fetch_ms / two_ms);
      } else {
        std::snprintf(ratios, sizeof ratios, "null,\"ratio_vs_two_rounds\":null");
      }
      if (rank == 0) {
        std::printf(
            "{\"bench\":\"retrieval\",\"backend\":\"mpi\",\"ranks\":%d,\"sharding\":\"%s\",\"entries\":%lld,"
            "\"length\":%lld,\"queries\":%lld,\"indices_per_rank\":%lld,\"pattern\":\"%s\",\"requested\":%lld,"
            "\"unique\":%lld,\"remote\":%lld,\"bytes_moved\":%lld,\"bytes_per_query\":%.1f,"
            "\"max_over_mean_requests_per_owner\":%.4f,\"bank_bytes_per_rank\":%lld,\"reps\":%lld,"
            "\"retrieval_ms\":%.4f,\"alltoallv_ms\":%.4f,\"alltoallv_two_rounds_ms\":%.4f,"
            "\"local_only_ms\":%.4f,\"ratio_vs_alltoallv\":%s}\n",
            g, elm::dist::sharding_name(a.sharding), static_cast<long long>(a.entries), static_cast<long long>(L),
            static_cast<long long>(queries), static_cast<long long>(request.numel()), pattern.c_str(),
            static_cast<long long>(requested), static_cast<long long>(unique_all),
            static_cast<long long>(remote_all), static_cast<long long>(bytes_all),
            double(bytes_all) / double(queries),
            all_served > 0 ? double(max_served) * g / double(all_served) : 1.0,
            static_cast<long long>(reader.shard_bytes()), static_cast<long long>(a.reps), fetch_ms, one_ms, two_ms,
            local_ms, ratios);
        std::fflush(stdout);
      }
    }
    return 0;
  } catch (const std::exception& e) {
    elm::dist::abort_all(e.what());
  }
}
