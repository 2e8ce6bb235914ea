#pragma once
// One training checkpoint = one HDF5 file that h5ls / h5dump / h5py can read: the resolved config,
// the step and stage, the data cursor, the learning-rate schedule, RNG states, the trainable
// parameters, the optimizer state, optionally the bank and the last metrics line. Layout and
// guarantees: docs/checkpoints.md. The directory around it (naming, `latest`, pruning, resume):
// checkpointer.h.
//
// Writes are atomic: the file is written as PATH.tmp, fsynced and renamed; the root attribute
// `complete` is written last, and a file without it is never read. This is the single-process
// writer; collective (MPI-IO) writes replace the inside of write_checkpoint, not this interface.
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "train/data_cursor.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"

namespace elm::train {

inline constexpr const char* kCheckpointFormat = "explicitlm-checkpoint";
inline constexpr std::int64_t kCheckpointFormatVersion = 1;

struct TrainingState {
  std::int64_t step = 0;            // optimizer steps done
  std::string stage;                // training.stage: router|fusion|joint|backbone
  std::string config_text;          // the resolved config (TOML text)
  DataCursor cursor;
  LrSchedule schedule;
  torch::Tensor rng_state;            // CPU generator state (uint8), at::Generator::get_state(); may be undefined
  torch::Tensor selection_rng_state;  // the Gumbel-noise generator's state (uint8); may be undefined
  NamedTensors parameters;  // trainable parameters by name ("memory.layers.0.router.keys")
  NamedTensors optimizer;   // Optimizer::export_state() ("<param>.exp_avg", "<param>.step", ...)
  NamedTensors bank;        // optional: "tokens" [N, L] int32/int64, "valid" [N] bool; empty = not saved
  std::string metrics_json;  // optional: the last metrics line (JSON text); empty = not saved
};

// Writes `state` to `path` atomically (PATH.tmp, fsync, rename, fsync of the directory). Tensors
// keep dtype and shape exactly: float32, float64, int64, int32, int8, uint8, bool; bfloat16 and
// float16 as uint16 bits with a `dtype` attribute; 0-dim tensors as scalar datasets. Tensors may
// live on any device (they are copied to the CPU). Throws elm::Error for an empty, duplicate or
// '/'-containing tensor name, an undefined tensor or an unsupported dtype, naming the tensor; the
// .tmp is removed on failure and an existing PATH is left untouched.
void write_checkpoint(const std::string& path, const TrainingState& state);

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
