// Gradient all-reduce: Communicator::all_reduce_mean on one float32 buffer against a raw
// MPI_Allreduce (MPI_SUM) of a buffer of the same size, in the same run. Run under MPI:
//
//   mpirun -np G bench_allreduce [--min-bytes 4096] [--max-bytes 268435456] [--factor 4]
//                                [--warmup 2] [--min-reps 5] [--max-reps 50] [--bucket-mb 25]
//
// For each size (min-bytes, min-bytes * factor, ... up to max-bytes) and each operation it
// prints one JSON line (rank 0) with the median time over repetitions (each repetition: barrier,
// the call, the slowest rank's time), algbw = bytes / time and busbw = algbw * 2 (n - 1) / n, the
// bus bandwidth of nccl-tests (PERFORMANCE.md there): the bytes each rank must send and receive
// in a bandwidth-optimal all-reduce, so that busbw compares with the link's bandwidth whatever
// the rank count. GB/s are 1e9 bytes per second, as in nccl-tests.
//
// Backend: the MPI communicator on CPU tensors (this is what runs without a GPU). Ours is a
// reduce-scatter + all-gather (bit-identical on every rank, docs/distributed.md) and divides by
// n; the baseline is MPI_Allreduce out of place (the input is not overwritten, so repetitions
// see the same values), which promises nothing about identical bits. A third line times the raw
// MPI_Reduce_scatter_block + MPI_Allgather that all_reduce_mean runs underneath, separating the
// cost of that algorithm from the communicator's own work (the division by n). A build with NCCL
// and a GPU would measure the nccl backend instead (not done here: the development machine has no
// GPU, so every line says backend "mpi", device "cpu").
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
#include "dist/mpi_communicator.h"
#include "dist/mpi_env.h"
#include "dist/mpi_error.h"

namespace {

using elm::bench::median;
using elm::bench::now_ms;

struct Args {
  int64_t min_bytes = 4096, max_bytes = int64_t{256} << 20, factor = 4;
  int64_t warmup = 2, min_reps = 5, max_reps = 50, bucket_mb = 25;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; i += 2) {
    const std::string k = argv[i];
    ELM_CHECK(i + 1 < argc, "bench_allreduce: option ", k, " needs a value");
    const int64_t v = elm::parse_int(argv[i + 1], k);
    if (k == "--min-bytes") a.min_bytes = v;
    else if (k == "--max-bytes") a.max_bytes = v;
    else if (k == "--factor") a.factor = v;
    else if (k == "--warmup") a.warmup = v;
    else if (k == "--min-reps") a.min_reps = v;
    else if (k == "--max-reps") a.max_reps = v;
    else if (k == "--bucket-mb") a.bucket_mb = v;
    else elm::fail("bench_allreduce: unknown option ", k);
  }
  ELM_CHECK(a.min_bytes >= 4 && a.max_bytes >= a.min_bytes && a.factor >= 2 && a.min_reps >= 1 &&
                a.max_reps >= a.min_reps && a.warmup >= 0 && a.bucket_mb >= 1,
            "bench_allreduce: need 4 <= min-bytes <= max-bytes, factor >= 2, 1 <= min-reps <= max-reps");
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  elm::dist::MpiEnvironment mpi(&argc, &argv);
  try {
    const Args a = parse(argc, argv);
    torch::NoGradGuard no_grad;
    elm::dist::CommunicatorOptions options;
    options.bucket_bytes = a.bucket_mb << 20;
    elm::dist::MpiCommunicator comm(MPI_COMM_WORLD, options);
    MPI_Comm raw = comm.comm();
    const int n = comm.size(), rank = comm.rank();
    ELM_CHECK(n >= 2, "bench_allreduce: run it under mpirun with 2 or more ranks (one rank has nothing to reduce)");

    auto timed = [&](auto&& op) {  // the slowest rank's time of one call, in ms
      comm.barrier();
      const double t0 = now_ms();
      op();
      double mine = now_ms() - t0, slowest = 0;
      MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, raw);
      return slowest;
    };

    for (int64_t bytes = a.min_bytes; bytes <= a.max_bytes; bytes *= a.factor) {
      const int64_t count = bytes / 4;
      // About 256 MB of traffic per size, within [min_reps, max_reps] repetitions.
      const int64_t reps = std::clamp<int64_t>((int64_t{256} << 20) / bytes, a.min_reps, a.max_reps);
      auto gen = at::detail::createCPUGenerator(1000 + static_cast<uint64_t>(rank));
      std::vector<torch::Tensor> ours = {torch::randn({count}, gen)};
      torch::Tensor input = ours[0].clone(), output = torch::empty_like(input);
      ELM_CHECK(count < (int64_t{1} << 31), "bench_allreduce: ", bytes, " bytes exceed MPI's int count");
      const int mpi_count = static_cast<int>(count);

      // What all_reduce_mean does underneath, without the communicator: reduce-scatter + all-gather.
      const int64_t chunk = (count + n - 1) / n;
      torch::Tensor padded = torch::zeros({chunk * n}), mine = torch::empty({chunk});
      torch::Tensor gathered = torch::empty({chunk * n});
      padded.narrow(0, 0, count).copy_(input);
      const int chunk_count = static_cast<int>(chunk);

      std::vector<double> t_ours, t_raw, t_rs;
      for (int64_t rep = 0; rep < a.warmup + reps; ++rep) {
        const double to = timed([&] { comm.all_reduce_mean(ours); });
        const double tr = timed([&] {
          elm::dist::check_mpi(MPI_Allreduce(input.data_ptr(), output.data_ptr(), mpi_count, MPI_FLOAT, MPI_SUM, raw),
                               "MPI_Allreduce", comm.where());
        });
        const double ts = timed([&] {
          elm::dist::check_mpi(MPI_Reduce_scatter_block(padded.data_ptr(), mine.data_ptr(), chunk_count, MPI_FLOAT,
                                                        MPI_SUM, raw),
                               "MPI_Reduce_scatter_block", comm.where());
          elm::dist::check_mpi(MPI_Allgather(mine.data_ptr(), chunk_count, MPI_FLOAT, gathered.data_ptr(),
                                             chunk_count, MPI_FLOAT, raw),
                               "MPI_Allgather", comm.where());
        });
        if (rep < a.warmup) continue;
        t_ours.push_back(to);
        t_raw.push_back(tr);
        t_rs.push_back(ts);
      }
      const double ms_ours = median(t_ours), ms_raw = median(t_raw), ms_rs = median(t_rs);
      const double bus = 2.0 * (n - 1) / n;
      if (rank == 0) {
        const char* names[3] = {"all_reduce_mean", "MPI_Allreduce", "MPI_Reduce_scatter_block+MPI_Allgather"};
        for (int which = 0; which < 3; ++which) {
          const double ms = which == 0 ? ms_ours : which == 1 ? ms_raw : ms_rs;
          const double algbw = double(count * 4) / (ms * 1e-3) / 1e9;
          std::printf(
              "{\"bench\":\"allreduce\",\"backend\":\"mpi\",\"device\":\"cpu\",\"ranks\":%d,\"op\":\"%s\","
              "\"dtype\":\"float32\",\"bytes\":%lld,\"reps\":%lld,\"time_ms\":%.4f,\"algbw_gbps\":%.3f,"
              "\"busbw_gbps\":%.3f,\"ratio_vs_mpi_allreduce\":%.3f}\n",
              n, names[which], static_cast<long long>(count * 4),
              static_cast<long long>(reps), ms, algbw, algbw * bus, ms / ms_raw);
        }
        std::fflush(stdout);
      }
    }
    return 0;
  } catch (const std::exception& e) {
    elm::dist::abort_all(e.what());
  }
}
