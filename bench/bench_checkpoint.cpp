// Checkpoint I/O: write_checkpoint_collective (every rank writes its part of one HDF5 file through
// MPI-IO, then fsync and rename) against `dd` writing a file of the same size with fsync, on the
// same disk, in the same run; then every rank reading back its own part (read_checkpoint_part)
// against `dd` reading the whole file. Run under MPI:
//
//   mpirun -np G bench_checkpoint [--mb 512] [--tensors 16] [--bank-rows 1048576] [--dir DIR] [--reps 3]
//
// The state: --mb MiB of float32 parameters in total, split into --tensors tensors per rank that
// the rank owns (as the first DP rank of a pipeline stage does), plus a bank of --bank-rows x 16
// int32 tokens sharded cyclically over the ranks (each writes its rows: a strided selection),
// plus every rank's RNG state. Rank 0 prints one JSON line per phase with the median seconds,
// GB/s (1e9 bytes / s) and the ratio to dd's GB/s. The read phase runs on whatever the page
// cache holds (this benchmark cannot drop caches without root): dd reads the same file under the
// same conditions right before, so the ratio still compares like with like.
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "bench_timing.h"
#include "core/error.h"
#include "core/parse.h"
#include "dist/abort.h"
#include "dist/bank_sharding.h"
#include "dist/mpi_env.h"
#include "dist/sharded_bank_reader.h"
#include "train/checkpoint.h"

namespace {

namespace fs = std::filesystem;
using elm::bench::median;
using elm::bench::now_ms;

struct Args {
  int64_t mb = 512, tensors = 16, bank_rows = 1 << 20, reps = 3;
  std::string dir = "bench-checkpoint-tmp";
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; i += 2) {
    const std::string k = argv[i];
    ELM_CHECK(i + 1 < argc, "bench_checkpoint: option ", k, " needs a value");
    const std::string v = argv[i + 1];
    if (k == "--dir") a.dir = v;
    else if (k == "--mb") a.mb = elm::parse_int(v, k);
    else if (k == "--tensors") a.tensors = elm::parse_int(v, k);
    else if (k == "--bank-rows") a.bank_rows = elm::parse_int(v, k);
    else if (k == "--reps") a.reps = elm::parse_int(v, k);
    else elm::fail("bench_checkpoint: unknown option ", k, " (see the comment at the top of bench_checkpoint.cpp)");
  }
  ELM_CHECK(a.mb > 0 && a.tensors > 0 && a.bank_rows >= 0 && a.reps > 0, "bench_checkpoint: sizes must be positive");
  return a;
}

// Seconds of a shell command (rank 0 only); its output is discarded. Error when it fails.
double timed_shell(const std::string& cmd) {
  const double t0 = now_ms();
  const int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  ELM_CHECK(rc == 0, "bench_checkpoint: `", cmd, "` failed (status ", rc, ")");
  return (now_ms() - t0) / 1000.0;
}

double slowest(double seconds) {
  MPI_Allreduce(MPI_IN_PLACE, &seconds, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  elm::dist::MpiEnvironment mpi(&argc, &argv);
  try {
    const Args a = parse(argc, argv);
    int rank = 0, n = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    torch::NoGradGuard no_grad;
    if (rank == 0) fs::create_directories(a.dir);
    MPI_Barrier(MPI_COMM_WORLD);

    // This rank's part of the state.
    elm::train::TrainingState s;
    s.step = 1;
    s.stage = "joint";
    s.config_text = "[bench]\n";
    s.rank = rank;
    s.world_size = n;
    s.rng_state = at::detail::getDefaultCPUGenerator().get_state();
    const int64_t per_tensor = std::max<int64_t>(1, (a.mb << 20) / 4 / n / a.tensors);
    const int64_t cols = 1024, rows = std::max<int64_t>(1, per_tensor / cols);
    for (int64_t t = 0; t < a.tensors; ++t) {
      s.parameters.emplace_back("r" + std::to_string(rank) + ".w" + std::to_string(t), torch::randn({rows, cols}));
    }
    if (a.bank_rows > 0) {
      const elm::dist::ShardLayout layout(a.bank_rows, n, elm::dist::BankSharding::kCyclic);
      const int64_t mine = layout.rows_of(rank);
      s.bank = {{"tokens", torch::randint(0, 150000, {mine, 16}, torch::kInt32)},
                {"valid", torch::ones({mine}, torch::kBool)}};
      s.bank_rows = {a.bank_rows, rank, n};
    }
    const std::string path = (fs::path(a.dir) / "bench.h5").string();
    const std::string dd_path = (fs::path(a.dir) / "dd.bin").string();

    std::vector<double> ours, dd, ours_read, dd_read;
    int64_t bytes = 0, file_bytes = 0, independent = 0;
    for (int64_t rep = 0; rep < a.reps; ++rep) {
      // Both write new files, as a checkpoint does (step-N.h5.tmp): freeing the blocks of the
      // previous repetition's file is not part of either timing.
      if (rank == 0) {
        fs::remove(path);
        fs::remove(dd_path);
        std::system("sync");
      }
      MPI_Barrier(MPI_COMM_WORLD);
      const double t0 = now_ms();
      const auto stats = elm::train::write_checkpoint_collective(path, s, MPI_COMM_WORLD);
      ours.push_back(slowest((now_ms() - t0) / 1000.0));
      bytes = stats.bytes;
      independent += stats.io.independent_writes;
      if (rank == 0) {
        file_bytes = static_cast<int64_t>(fs::file_size(path));
        // The same number of bytes through dd, made durable the same way (fsync before exit).
        const int64_t blocks = (file_bytes + (4 << 20) - 1) / (4 << 20);
        std::system("sync");
        dd.push_back(timed_shell("dd if=/dev/zero of=" + dd_path + " bs=4M count=" + std::to_string(blocks) +
                                 " conv=fsync"));
        dd_read.push_back(timed_shell("dd if=" + path + " of=/dev/null bs=4M"));
      }
      MPI_Barrier(MPI_COMM_WORLD);
      // Every rank reads its own part back: its parameters and its rows of the bank.
      elm::train::CheckpointSelection sel;
      const std::string prefix = "r" + std::to_string(rank) + ".";
      sel.parameter = [&](const std::string& name) { return name.rfind(prefix, 0) == 0; };
      if (a.bank_rows > 0) {
        const elm::dist::ShardLayout layout(a.bank_rows, n, elm::dist::BankSharding::kCyclic);
        sel.bank_rows = elm::train::CheckpointSelection::Rows{rank, layout.rows_of(rank), n};
      }
      sel.rank = rank;
      const double r0 = now_ms();
      const auto back = elm::train::read_checkpoint_part(path, sel);
      ours_read.push_back(slowest((now_ms() - r0) / 1000.0));
      ELM_CHECK(back.parameters.size() == s.parameters.size() &&
                    torch::equal(back.parameters.back().second, s.parameters.back().second),
                "bench_checkpoint: rank ", rank, " read back different parameters");
    }
    if (rank == 0) {
      const double w = median(ours), d = median(dd), rw = median(ours_read), rd = median(dd_read);
      const double gb = static_cast<double>(bytes) / 1e9, fgb = static_cast<double>(file_bytes) / 1e9;
      std::printf("{\"bench\":\"checkpoint_write\",\"ranks\":%d,\"data_bytes\":%lld,\"file_bytes\":%lld,\"reps\":%lld,"
                  "\"seconds\":%.4f,\"gbps\":%.3f,\"dd_seconds\":%.4f,\"dd_gbps\":%.3f,\"ratio_vs_dd\":%.3f,"
                  "\"independent_writes\":%lld}\n",
                  n, static_cast<long long>(bytes), static_cast<long long>(file_bytes), static_cast<long long>(a.reps), w,
                  fgb / w, d, fgb / d, d / w, static_cast<long long>(independent));
      std::printf("{\"bench\":\"checkpoint_read\",\"ranks\":%d,\"data_bytes\":%lld,\"seconds\":%.4f,\"gbps\":%.3f,"
                  "\"dd_seconds\":%.4f,\"dd_gbps\":%.3f,\"ratio_vs_dd\":%.3f}\n",
                  n, static_cast<long long>(bytes), rw, gb / rw, rd, fgb / rd, (gb / rw) / (fgb / rd));
      std::fflush(stdout);
      fs::remove(path);
      fs::remove(dd_path);
    }
    return 0;
  } catch (const std::exception& e) {
    elm::dist::abort_all(e.what());
  }
}
