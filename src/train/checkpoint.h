#pragma once
// One training checkpoint = one HDF5 file that h5ls / h5dump / h5py can read: the resolved config,
// the step and stage, the data cursor, the learning-rate schedule, RNG states, the trainable
// parameters, the optimizer state, optionally the bank and the last metrics line. Layout and
// guarantees: docs/checkpoints.md. The directory around it (naming, `latest`, pruning, resume):
// checkpointer.h.
//
// Writes are atomic: the file is written as PATH.tmp, fsynced and renamed; the root attribute
// `complete` is written last, and a file without it is never read. Under MPI every rank writes its
// own part into the one file (write_checkpoint_collective: parallel HDF5, collective transfers):
// the parameters and optimizer state it owns, its rows of the bank, its RNG state. Every dataset
// carries a checksum that verify_checkpoint recomputes.
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "io/hdf5_file.h"
#include "train/data_cursor.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"

namespace elm::train {

inline constexpr const char* kCheckpointFormat = "explicitlm-checkpoint";
// Version 2: per-dataset checksums, every rank's RNG state, fixed-length text (collective writes).
// Version 1 files (single-process writer, no checksums) are still read.
inline constexpr std::int64_t kCheckpointFormatVersion = 2;

// Where this rank's rows of a sharded dataset go: rows first, first + stride, ... of a dataset of
// total_rows rows. total_rows < 0: the tensor is the whole dataset.
struct RowPlacement {
  std::int64_t total_rows = -1;
  std::int64_t first = 0;
  std::int64_t stride = 1;
};

struct TrainingState {
  std::int64_t step = 0;            // optimizer steps done
  std::int64_t tokens_seen = 0;     // real (non-padding) tokens of all the batches trained on, all ranks
  std::string stage;                // training.stage: router|fusion|joint|backbone
  std::string config_text;          // the resolved config (TOML text)
  DataCursor cursor;
  LrSchedule schedule;
  torch::Tensor rng_state;            // this rank's CPU generator state (uint8), at::Generator::get_state(); may be undefined
  torch::Tensor selection_rng_state;  // the Gumbel-noise generator's state (uint8); may be undefined
  NamedTensors parameters;  // trainable parameters by name ("memory.layers.0.router.keys")
  NamedTensors optimizer;   // Optimizer::export_state() ("<param>.exp_avg", "<param>.step", ...)
  NamedTensors bank;        // optional: "tokens" [N, L] int32/int64, "valid" [N] bool; empty = not saved
  std::string metrics_json;  // optional: the last metrics line (JSON text); empty = not saved

  // Collective writes: this rank's place. rng_state goes to row `rank` of /rng/torch [world_size,
  // S]; the bank tensors hold this rank's rows, placed by bank_rows.
  int rank = 0;
  int world_size = 1;
  RowPlacement bank_rows;
  // Read back: every rank's RNG state, [world_size, S] uint8 (version 1: rank 0's only).
  torch::Tensor rng_states;
};

// What one collective write did: bytes of tensor data in the file (all ranks together), seconds
// from the first create to the rename, and how HDF5 actually transferred the data.
struct CheckpointWriteStats {
  std::int64_t bytes = 0;
  std::int64_t datasets = 0;
  double seconds = 0;
  io::CollectiveIoStats io;  // this rank's writes
};

// Writes `state` to `path` atomically (PATH.tmp, fsync, rename, fsync of the directory). Tensors
// keep dtype and shape exactly: float32, float64, int64, int32, int8, uint8, bool; bfloat16 and
// float16 as uint16 bits with a `dtype` attribute; 0-dim tensors as scalar datasets. Tensors may
// live on any device (they are copied to the CPU). Throws elm::Error for an empty, duplicate or
// '/'-containing tensor name, an undefined tensor or an unsupported dtype, naming the tensor; the
// .tmp is removed on failure and an existing PATH is left untouched.
void write_checkpoint(const std::string& path, const TrainingState& state);

// The same file written by every rank of `comm` together (MPI_COMM_NULL = one process, as
// write_checkpoint). Collective. Each rank passes:
//   - the same step, stage, config_text, cursor, schedule and metrics_json (checked);
//   - the parameters and optimizer entries it owns: no name may come from two ranks;
//   - its bank rows with bank_rows (the rows of all ranks must add up to the whole bank), or none;
//   - its rng_state (rank and world_size say where it goes).
// Ranks agree on the layout first (an all-gather of what each holds), so a mismatch is the same
// elm::Error on every rank before any file is created. Rank 0 publishes the file (fsync, rename)
// and every rank returns or throws with rank 0's outcome. A transfer HDF5 did independently is
// logged as a warning and counted in the stats.
CheckpointWriteStats write_checkpoint_collective(const std::string& path, const TrainingState& state, MPI_Comm comm);

// What to read of a checkpoint (read_checkpoint_part): a rank of a run on another grid reads only
// its own part. Defaults read everything.
struct CheckpointSelection {
  // Parameters to read (and the optimizer entries "<param>.<field>" of those); null = all.
  std::function<bool(const std::string&)> parameter;
  bool optimizer = true;
  bool bank = true;
  // Bank rows first, first + stride, ... (count of them); nullopt = the whole bank.
  struct Rows {
    std::int64_t first = 0, count = 0, stride = 1;
  };
  std::optional<Rows> bank_rows;
  // Which row of /rng/torch becomes rng_state (a rank that is not in the file gets none).
  int rank = 0;
};
TrainingState read_checkpoint_part(const std::string& path, const CheckpointSelection& selection);

// Recomputes every dataset's checksum (io/row_checksum.h) and compares it with the stored one.
struct CheckpointVerification {
  std::int64_t step = 0;
  std::int64_t format_version = 0;
  std::int64_t datasets = 0;  // checked
  std::int64_t bytes = 0;     // read
  std::vector<std::string> problems;  // "dataset '/parameters/x': checksum xor64:... != stored xor64:..."
  bool ok() const { return problems.empty(); }
};
// Never throws for a damaged file: an unreadable file, a missing marker or a dataset that cannot be
// read is a problem in the result. A version 1 file (no checksums) is a problem too.
CheckpointVerification verify_checkpoint(const std::string& path);

// Reads a checkpoint written by write_checkpoint; tensors come back on the CPU. Throws elm::Error
// naming the file for a file that is not an HDF5 file or not a checkpoint, lacks the `complete`
// marker (a write that did not finish), has an unknown format_version, or is damaged; a missing
// dataset is named.
TrainingState read_checkpoint(const std::string& path);

// Copies saved tensors into the parameters of the same names (shapes must match, dtypes are
// converted), e.g. TrainingState::parameters into a model. `origin` names the source in errors.
// require_all: every parameter must be present (resume, evaluation); otherwise missing ones keep
// their values (training.init_from from another stage). At least one must match either way.
void load_parameters(const NamedTensors& params, const NamedTensors& saved, const std::string& origin,
                     bool require_all);

// True when `path` is a readable checkpoint with the `complete` marker and a known format version
// (only the root attributes are checked). Never throws.
bool is_complete_checkpoint(const std::string& path);

// The `step` attribute of a checkpoint (cheap: no tensor is read). Throws like read_checkpoint.
std::int64_t checkpoint_step(const std::string& path);

}  // namespace elm::train
