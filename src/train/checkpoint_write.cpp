// The checkpoint writer: every rank of a communicator writes its part of one HDF5 file (or one
// process writes all of it). The steps, the same on every rank:
//   1. plan: each rank lists the pieces it holds (dataset, dtype, global shape, rows); the lists
//      are all-gathered and checked the same way everywhere (a dataset from two ranks that
//      disagree on its shape, rows covered twice or not at all, header fields that differ);
//   2. create PATH.tmp with MPI-IO, every group and dataset (collective metadata), without data;
//   3. write every dataset with one collective transfer (ranks without rows of it take part with
//      an empty selection), and XOR together the per-rank checksums of what was written;
//   4. checksums and root attributes, flush, the `complete` marker, flush, close;
//   5. rank 0: fsync, rename to PATH, fsync the directory; its outcome is every rank's.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "core/clock.h"
#include "core/error.h"
#include "core/logging.h"
#include "dist/host_collectives.h"
#include "io/hdf5_file.h"
#include "io/row_checksum.h"
#include "train/checkpoint.h"
#include "train/checkpoint_format.h"

namespace elm::train {
namespace {

namespace fs = std::filesystem;
using io::H5File;
using io::H5Kind;

// One rank's rows of one dataset.
struct Piece {
  std::string dataset;  // "/parameters/memory.layers.0.router.keys"
  H5Kind kind = H5Kind::Other;
  std::string dtype_attr;        // "bfloat16" / "float16" / ""
  std::vector<int64_t> shape;    // of the whole dataset
  int64_t first = 0, count = 0, stride = 1;
  torch::Tensor data;            // contiguous CPU, `count` rows (local only)
};

int64_t rows_of(const std::vector<int64_t>& shape) { return shape.empty() ? 1 : shape[0]; }

Piece make_piece(const std::string& dataset, const std::string& what, const torch::Tensor& tensor,
                 const RowPlacement& place = {}) {
  ELM_CHECK(tensor.defined(), "checkpoint: ", what, " is undefined");
  ELM_CHECK(tensor.layout() == torch::kStrided, "checkpoint: ", what, " is not a dense tensor");
  const format::Stored s = format::stored_as(tensor.scalar_type(), what);
  Piece p;
  p.dataset = dataset;
  p.kind = s.kind;
  p.dtype_attr = s.dtype_attr ? s.dtype_attr : "";
  // A contiguous CPU copy: HDF5 reads the buffer row-major, whatever the tensor's strides.
  p.data = tensor.detach().to(torch::kCPU).contiguous();
  p.shape.assign(p.data.sizes().begin(), p.data.sizes().end());
  p.count = rows_of(p.shape);
  if (place.total_rows >= 0) {
    ELM_CHECK(!p.shape.empty(), "checkpoint: ", what, " is a scalar and cannot be placed as rows");
    ELM_CHECK(place.first >= 0 && place.stride >= 1, "checkpoint: ", what, ": bad row placement (first ", place.first,
              ", stride ", place.stride, ")");
    p.shape[0] = place.total_rows;
    p.first = place.first;
    p.stride = place.stride;
  }
  return p;
}

Piece scalar_piece(const std::string& dataset, double v) {
  return make_piece(dataset, dataset, torch::tensor(v, torch::kFloat64));
}
Piece scalar_piece(const std::string& dataset, int64_t v) {
  return make_piece(dataset, dataset, torch::tensor(v, torch::kInt64));
}

// This rank's pieces, in the order they appear in the file.
std::vector<Piece> pieces_of(const TrainingState& s) {
  std::vector<Piece> out;
  const bool root = s.rank == 0;
  if (root) {
    const std::vector<int64_t> cursor = s.cursor.to_vector();
    out.push_back(make_piece("/cursor", "cursor", torch::tensor(cursor, torch::kInt64)));
    out.push_back(scalar_piece("/schedule/peak", s.schedule.peak));
    out.push_back(scalar_piece("/schedule/warmup_steps", s.schedule.warmup_steps));
    out.push_back(scalar_piece("/schedule/total_steps", s.schedule.total_steps));
    out.push_back(scalar_piece("/schedule/min_lr_ratio", s.schedule.min_lr_ratio));
    if (s.selection_rng_state.defined()) {
      out.push_back(make_piece("/rng/selection", "selection_rng_state", s.selection_rng_state));
    }
  }
  if (s.rng_state.defined()) {
    ELM_CHECK(s.rng_state.dim() == 1, "checkpoint: rng_state must be 1-D (generator state bytes)");
    out.push_back(make_piece("/rng/torch", "rng_state", s.rng_state.unsqueeze(0), {s.world_size, s.rank, 1}));
  }
  for (const auto& [name, t] : s.parameters) {
    out.push_back(make_piece("/parameters/" + name, "tensor '" + name + "' in parameters", t));
  }
  for (const auto& [name, t] : s.optimizer) {
    out.push_back(make_piece("/optimizer/" + name, "tensor '" + name + "' in optimizer", t));
  }
  for (const auto& [name, t] : s.bank) {
    out.push_back(make_piece("/bank/" + name, "tensor '" + name + "' in bank", t, s.bank_rows));
  }
  return out;
}

std::string join_dims(const std::vector<int64_t>& shape) {
  std::string out;
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? "," : "") + std::to_string(shape[i]);
  return out;
}

// One line per piece: dataset, kind, dtype attribute, shape, first, count, stride.
std::string describe_pieces(const std::vector<Piece>& pieces) {
  std::ostringstream out;
  for (const Piece& p : pieces) {
    out << p.dataset << '\t' << static_cast<int>(p.kind) << '\t' << p.dtype_attr << '\t' << join_dims(p.shape) << '\t'
        << p.first << '\t' << p.count << '\t' << p.stride << '\n';
  }
  return out.str();
}

// A dataset of the file as all ranks agreed on it.
struct Holder {
  int rank = 0;
  int64_t first = 0, count = 0, stride = 1;
};
struct Planned {
  std::string dataset;
  H5Kind kind;
  std::string dtype_attr;
  std::vector<int64_t> shape;
  int64_t rows_written = 0;
  int first_rank = 0;
  std::vector<Holder> holders;
  // Rows interleaved between ranks (a cyclic bank shard): regrouped into one contiguous block per
  // rank before writing (write_regrouped), so every rank's write is one large contiguous range.
  bool interleaved() const {
    for (const Holder& h : holders) {
      if (h.stride > 1 && h.count > 1) return true;
    }
    return false;
  }
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// The file's datasets from every rank's piece list; the same result (or the same error) on every
// rank, since every rank parses the same gathered text.
std::vector<Planned> plan_datasets(const std::vector<std::string>& per_rank, const std::string& path) {
  std::vector<Planned> plan;
  std::map<std::string, size_t> index;
  for (size_t r = 0; r < per_rank.size(); ++r) {
    std::set<std::string> mine;
    for (const std::string& line : split(per_rank[r], '\n')) {
      if (line.empty()) continue;
      const auto f = split(line, '\t');
      ELM_CHECK(f.size() == 7, "checkpoint ", path, ": malformed plan line from rank ", r);
      Planned p;
      p.dataset = f[0];
      p.kind = static_cast<H5Kind>(std::stoi(f[1]));
      p.dtype_attr = f[2];
      if (!f[3].empty()) {
        for (const auto& d : split(f[3], ',')) p.shape.push_back(std::stoll(d));
      }
      const int64_t count = std::stoll(f[5]);
      const Holder holder{static_cast<int>(r), std::stoll(f[4]), count, std::stoll(f[6])};
      ELM_CHECK(mine.insert(p.dataset).second, "checkpoint ", path, ": rank ", r, " holds ", p.dataset, " twice");
      auto it = index.find(p.dataset);
      if (it == index.end()) {
        p.first_rank = static_cast<int>(r);
        p.rows_written = count;
        p.holders.push_back(holder);
        index[p.dataset] = plan.size();
        plan.push_back(p);
        continue;
      }
      Planned& q = plan[it->second];
      ELM_CHECK(q.kind == p.kind && q.dtype_attr == p.dtype_attr && q.shape == p.shape, "checkpoint ", path, ": ",
                p.dataset, " is [", join_dims(q.shape), "] ", io::to_string(q.kind), " on rank ", q.first_rank, " but [",
                join_dims(p.shape), "] ", io::to_string(p.kind), " on rank ", r);
      q.rows_written += count;
      q.holders.push_back(holder);
    }
  }
  for (const Planned& p : plan) {
    // Parameters and optimizer entries have one owner: a second one would write the rows twice.
    ELM_CHECK(p.rows_written == rows_of(p.shape), "checkpoint ", path, ": ", p.dataset, " has ", rows_of(p.shape),
              " rows but the ranks hold ", p.rows_written, " of them (a tensor owned by two ranks, or a shard missing)");
  }
  return plan;
}

// What every rank must agree on: the header of the file.
std::string header_of(const TrainingState& s) {
  std::ostringstream out;
  out << "step " << s.step << "\ntokens " << s.tokens_seen << "\nstage " << s.stage << "\nworld " << s.world_size << "\nconfig "
      << io::checksum_text(io::row_hash(s.config_text.data(), s.config_text.size(), 0)) << "\nmetrics "
      << io::checksum_text(io::row_hash(s.metrics_json.data(), s.metrics_json.size(), 0)) << "\ncursor "
      << join_dims(s.cursor.to_vector()) << "\n";
  return out.str();
}

void check_agreement(const std::vector<std::string>& headers, const std::string& path) {
  for (size_t r = 1; r < headers.size(); ++r) {
    ELM_CHECK(headers[r] == headers[0], "checkpoint ", path, ": rank ", r, " disagrees with rank 0 on the header (",
              "step, stage, world size, config, metrics or data cursor):\nrank 0:\n", headers[0], "rank ", r, ":\n",
              headers[r]);
  }
}

// ELM_FAULT_CHECKPOINT=STEP:K: rank 0 kills itself (SIGKILL) after writing K datasets of the
// checkpoint of step STEP, leaving a half-written .tmp behind. For the crash tests only.
int64_t fault_after(int64_t step, int rank) {
  const char* env = std::getenv("ELM_FAULT_CHECKPOINT");
  if (!env || rank != 0) return -1;
  const std::string spec(env);
  const auto colon = spec.find(':');
  if (colon == std::string::npos) return -1;
  if (std::stoll(spec.substr(0, colon)) != step) return -1;
  return std::stoll(spec.substr(colon + 1));
}

void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("checkpoint: cannot open '", path, "' to fsync it: ", std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) fail("checkpoint: fsync of '", path, "' failed: ", std::strerror(err));
}

// Makes the rename durable. Best effort: the data is already in place when this fails.
void fsync_parent_dir(const std::string& path) {
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

// Rows [begin, end) of `rows` split into `parts` blocks: block b = [b * per, (b + 1) * per).
int64_t block_size(int64_t rows, int parts) { return std::max<int64_t>(1, (rows + parts - 1) / parts); }

// Writes an interleaved dataset as contiguous blocks: every rank sends each of its rows to the rank
// whose block holds it (one all-to-all of bytes; every rank knows every holder's rows from the
// plan), places what it receives by row index and writes its block in one contiguous transfer.
// This is the two-phase I/O of MPI-IO done once, in memory, for rows as small as one byte.
void write_regrouped(H5File& f, const Planned& d, const Piece* mine, int rank, int world, MPI_Comm comm) {
  const int64_t rows = rows_of(d.shape);
  int64_t row_elems = 1;
  for (size_t i = 1; i < d.shape.size(); ++i) row_elems *= d.shape[i];
  const int64_t row_bytes = row_elems * static_cast<int64_t>(io::element_size(d.kind));
  const int64_t per = block_size(rows, world);
  const int64_t b0 = std::min(rows, rank * per), b1 = std::min(rows, b0 + per);
  // What this rank sends: its rows ascend, so each destination gets one consecutive run.
  std::vector<int64_t> send(static_cast<size_t>(world), 0), recv(static_cast<size_t>(world), 0);
  if (mine) {
    for (int64_t k = 0; k < mine->count; ++k) send[static_cast<size_t>((mine->first + k * mine->stride) / per)] += row_bytes;
  }
  // What it receives: the rows of each holder that fall into [b0, b1), in the holder's order.
  auto rows_in_block = [&](const Holder& h, int64_t* k0) {
    const int64_t lo = h.first >= b0 ? 0 : (b0 - h.first + h.stride - 1) / h.stride;
    const int64_t hi = b1 <= h.first ? 0 : std::min(h.count, (b1 - h.first + h.stride - 1) / h.stride);
    *k0 = lo;
    return std::max<int64_t>(0, hi - lo);
  };
  for (const Holder& h : d.holders) {
    int64_t k0 = 0;
    recv[static_cast<size_t>(h.rank)] += rows_in_block(h, &k0) * row_bytes;
  }
  const std::vector<char> got = dist::all_to_all_bytes(
      comm, mine ? static_cast<const char*>(mine->data.data_ptr()) : nullptr, send, recv);
  std::vector<char> block(static_cast<size_t>((b1 - b0) * row_bytes));
  std::vector<int64_t> offset(static_cast<size_t>(world), 0);
  for (int r = 1; r < world; ++r) offset[static_cast<size_t>(r)] = offset[static_cast<size_t>(r - 1)] + recv[static_cast<size_t>(r - 1)];
  for (const Holder& h : d.holders) {  // holders are in rank order, one per rank
    int64_t k0 = 0;
    const int64_t n = rows_in_block(h, &k0);
    const char* src = got.data() + offset[static_cast<size_t>(h.rank)];
    for (int64_t j = 0; j < n; ++j) {
      const int64_t row = h.first + (k0 + j) * h.stride;
      std::memcpy(block.data() + (row - b0) * row_bytes, src + j * row_bytes, static_cast<size_t>(row_bytes));
    }
  }
  f.write_rows(d.dataset, d.kind, b0, b1 - b0, 1, block.data());
}

// Steps 2-4: the file's contents, collectively.
void write_contents(H5File& f, const TrainingState& s, const std::vector<Piece>& mine, const std::vector<Planned>& plan,
                    const std::string& created, MPI_Comm comm, CheckpointWriteStats& stats) {
  for (const char* g : {"schedule", "rng", "parameters", "optimizer"}) f.create_group(g);
  bool bank = false;
  for (const Planned& p : plan) bank = bank || p.dataset.rfind("/bank/", 0) == 0;
  if (bank) f.create_group("bank");
  f.create_text("config", s.config_text);
  if (!s.metrics_json.empty()) f.create_text("metrics", s.metrics_json);
  for (const Planned& p : plan) f.create_empty(p.dataset, p.kind, p.shape);

  std::map<std::string, const Piece*> by_name;
  for (const Piece& p : mine) by_name[p.dataset] = &p;
  std::vector<uint64_t> sums(plan.size(), 0);
  const int64_t kill_after = fault_after(s.step, s.rank);
  for (size_t i = 0; i < plan.size(); ++i) {
    const Planned& d = plan[i];
    auto it = by_name.find(d.dataset);
    const Piece* piece = it == by_name.end() ? nullptr : it->second;
    if (d.interleaved()) {
      write_regrouped(f, d, piece, s.rank, s.world_size, comm);
    } else if (piece) {
      f.write_rows(d.dataset, d.kind, piece->first, piece->count, piece->stride, piece->data.data_ptr());
    } else {
      f.write_rows(d.dataset, d.kind, 0, 0, 1, nullptr);
    }
    // This rank's share of the dataset's checksum: its rows at their row indices, whichever way
    // they reached the file.
    if (piece) {
      const int64_t rows = rows_of(piece->data.sizes().vec());
      const size_t row_bytes = rows == 0 ? 0 : static_cast<size_t>(piece->data.nbytes()) / static_cast<size_t>(rows);
      sums[i] = io::rows_checksum(piece->data.data_ptr(), piece->count, row_bytes, piece->first, piece->stride);
    }
    int64_t elements = 1;
    for (int64_t dim : d.shape) elements *= dim;
    stats.bytes += elements * static_cast<int64_t>(io::element_size(d.kind));
    if (kill_after >= 0 && static_cast<int64_t>(i) + 1 >= kill_after) {
      ELM_LOG(warning) << "ELM_FAULT_CHECKPOINT: killing rank 0 in the middle of writing " << f.path();
      ::raise(SIGKILL);
    }
  }
  dist::all_reduce_xor(comm, sums);

  for (size_t i = 0; i < plan.size(); ++i) {
    if (!plan[i].dtype_attr.empty()) f.set_attribute(format::kDtypeAttr, plan[i].dtype_attr, plan[i].dataset);
    f.set_attribute(format::kChecksumAttr, io::checksum_text(sums[i]), plan[i].dataset);
  }
  f.set_attribute(format::kChecksumAttr, io::checksum_text(io::row_hash(s.config_text.data(), s.config_text.size(), 0)),
                  "/config");
  if (!s.metrics_json.empty()) {
    f.set_attribute(format::kChecksumAttr,
                    io::checksum_text(io::row_hash(s.metrics_json.data(), s.metrics_json.size(), 0)), "/metrics");
  }
  f.set_attribute("fields", "epoch, position, seed (uint64 bits)", "/cursor");
  f.set_attribute("format", kCheckpointFormat);
  f.set_attribute("format_version", kCheckpointFormatVersion);
  f.set_attribute("step", s.step);
  f.set_attribute("tokens_seen", s.tokens_seen);
  f.set_attribute("stage", s.stage);
  f.set_attribute("created", created);
  f.set_attribute("world_size", static_cast<int64_t>(s.world_size));
  // Last, the marker that makes the file loadable. No flush before it: the file is PATH.tmp until
  // it has been closed and fsynced as a whole (one sync, as dd's), and nothing ever loads a .tmp.
  f.set_attribute(format::kComplete, int64_t{1});
  stats.datasets = static_cast<int64_t>(plan.size());
}

}  // namespace

CheckpointWriteStats write_checkpoint_collective(const std::string& path, const TrainingState& given, MPI_Comm comm) {
  const auto started = std::chrono::steady_clock::now();
  ELM_CHECK(!path.empty(), "checkpoint: empty path");
  const int rank = dist::rank_in(comm), world = dist::size_of(comm);
  // One process (no communicator) holds the whole file, whatever the state's placement says.
  const bool reposition = comm == MPI_COMM_NULL && (given.rank != 0 || given.world_size != 1);
  TrainingState alone;
  if (reposition) {
    alone = given;  // tensors are shared, not copied
    alone.rank = 0;
    alone.world_size = 1;
  }
  const TrainingState& state = reposition ? alone : given;
  ELM_CHECK(state.rank == rank && state.world_size == world, "checkpoint ", path, ": the state says rank ", state.rank,
            " of ", state.world_size, ", the communicator rank ", rank, " of ", world);
  // Local checks first (names, dtypes): a bad name fails before anything touches the disk. A
  // failure here is this rank's only; it is carried into the all-gather so every rank stops.
  std::string local_error;
  std::vector<Piece> mine;
  try {
    ELM_CHECK(state.step >= 0, "checkpoint ", path, ": negative step ", state.step);
    format::check_names(state.parameters, "parameters");
    format::check_names(state.optimizer, "optimizer");
    format::check_names(state.bank, "bank");
    mine = pieces_of(state);
  } catch (const std::exception& e) {
    local_error = e.what();
  }
  const std::vector<std::string> gathered =
      dist::all_gather_text(comm, local_error.empty() ? "ok\n" + header_of(state) + "\x1f" + describe_pieces(mine)
                                                      : "error\n" + local_error);
  std::vector<std::string> headers, pieces;
  for (size_t r = 0; r < gathered.size(); ++r) {
    if (gathered[r].rfind("error\n", 0) == 0) {
      fail(gathered[r].substr(6), world > 1 ? " (on rank " + std::to_string(r) + ")" : "");
    }
    const auto sep = gathered[r].find('\x1f');
    headers.push_back(gathered[r].substr(3, sep - 3));
    pieces.push_back(gathered[r].substr(sep + 1));
  }
  check_agreement(headers, path);
  const std::vector<Planned> plan = plan_datasets(pieces, path);
  const std::string created = dist::broadcast_text_from_root(comm, utc_now());

  const std::string tmp = path + ".tmp";
  CheckpointWriteStats stats;
  std::string outcome;  // rank 0's error, "" = published
  try {
    H5File f = H5File::create_collective(tmp, comm);
    write_contents(f, state, mine, plan, created, comm, stats);
    stats.io = f.io_stats();
    f.close();
  } catch (...) {
    // One process: nothing half-written stays behind. (With other ranks the job is ending: they
    // may still hold the file open; the next save removes the .tmp.)
    std::error_code ec;
    if (comm == MPI_COMM_NULL) fs::remove(tmp, ec);
    throw;
  }
  if (rank == 0) {
    try {
      fsync_path(tmp);
      if (::rename(tmp.c_str(), path.c_str()) != 0) {
        fail("checkpoint: cannot rename '", tmp, "' to '", path, "': ", std::strerror(errno));
      }
      fsync_parent_dir(path);
    } catch (const std::exception& e) {
      outcome = e.what();
      std::error_code ec;
      fs::remove(tmp, ec);  // a failed write leaves nothing behind (and never touches `path`)
    }
  }
  outcome = dist::broadcast_text_from_root(comm, outcome);
  if (!outcome.empty()) fail(outcome);
  for (const std::string& why : stats.io.fallbacks) {
    ELM_LOG(warning) << "checkpoint " << path << ": HDF5 did a collective write independently: " << why;
  }
  stats.seconds = seconds_since(started);
  return stats;
}

void write_checkpoint(const std::string& path, const TrainingState& state) {
  write_checkpoint_collective(path, state, MPI_COMM_NULL);
}

}  // namespace elm::train
