#include "train/checkpoint.h"

#include <map>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>

#include "core/clock.h"
#include "core/error.h"
#include "core/logging.h"
#include "io/hdf5_file.h"

namespace elm::train {
namespace {

namespace fs = std::filesystem;
using io::H5File;
using io::H5Kind;

// Root attributes and the names of the top-level datasets and groups (docs/checkpoints.md).
constexpr const char* kComplete = "complete";
constexpr const char* kDtypeAttr = "dtype";

// ---- tensors <-> datasets ----

// How a torch dtype is stored: the HDF5 element kind and, for 16-bit floats (which HDF5 has no
// portable type for), the dtype attribute that restores them from their uint16 bits.
struct Stored {
  H5Kind kind;
  const char* dtype_attr;  // nullptr: the kind says it all
};

Stored stored_as(torch::ScalarType t, const std::string& what) {
  switch (t) {
    case torch::kFloat32: return {H5Kind::Float32, nullptr};
    case torch::kFloat64: return {H5Kind::Float64, nullptr};
    case torch::kInt64: return {H5Kind::Int64, nullptr};
    case torch::kInt32: return {H5Kind::Int32, nullptr};
    case torch::kInt8: return {H5Kind::Int8, nullptr};
    case torch::kUInt8: return {H5Kind::UInt8, nullptr};
    case torch::kBool: return {H5Kind::Bool, nullptr};
    case torch::kBFloat16: return {H5Kind::UInt16, "bfloat16"};
    case torch::kFloat16: return {H5Kind::UInt16, "float16"};
    default: break;
  }
  fail("checkpoint: ", what, " has dtype ", c10::toString(t),
       ", which checkpoints do not store (float32, float64, bfloat16, float16, int64, int32, int8, uint8, bool)");
}

torch::ScalarType torch_type_of(H5Kind kind, const std::string& dtype_attr, const std::string& where) {
  if (!dtype_attr.empty()) {
    ELM_CHECK(kind == H5Kind::UInt16, where, ": dtype attribute '", dtype_attr, "' on a ", io::to_string(kind),
              " dataset (expected uint16 bits)");
    if (dtype_attr == "bfloat16") return torch::kBFloat16;
    if (dtype_attr == "float16") return torch::kFloat16;
    fail(where, ": unknown dtype attribute '", dtype_attr, "'");
  }
  switch (kind) {
    case H5Kind::Float32: return torch::kFloat32;
    case H5Kind::Float64: return torch::kFloat64;
    case H5Kind::Int64: return torch::kInt64;
    case H5Kind::Int32: return torch::kInt32;
    case H5Kind::Int8: return torch::kInt8;
    case H5Kind::UInt8: return torch::kUInt8;
    case H5Kind::Bool: return torch::kBool;
    case H5Kind::UInt16: fail(where, ": uint16 dataset without a dtype attribute (bfloat16 or float16)");
    default: break;
  }
  fail(where, ": holds ", io::to_string(kind), ", which is not a tensor type checkpoints use");
}

void write_tensor(H5File& f, const std::string& dataset, const std::string& what, const torch::Tensor& tensor) {
  ELM_CHECK(tensor.defined(), "checkpoint: ", what, " is undefined");
  ELM_CHECK(tensor.layout() == torch::kStrided, "checkpoint: ", what, " is not a dense tensor");
  const Stored s = stored_as(tensor.scalar_type(), what);
  // A contiguous CPU copy: HDF5 reads the buffer row-major, whatever the tensor's strides.
  const torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
  const std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
  f.create_dataset(dataset, s.kind, shape, t.data_ptr());
  if (s.dtype_attr) f.set_attribute(kDtypeAttr, s.dtype_attr, dataset);
}

torch::Tensor read_tensor(const H5File& f, const std::string& dataset) {
  const std::string where = "checkpoint " + f.path() + ": dataset '" + dataset + "'";
  const io::H5DatasetInfo info = f.dataset_info(dataset);
  const std::string dtype_attr = f.has_attribute(kDtypeAttr, dataset) ? f.attribute_string(kDtypeAttr, dataset) : "";
  const torch::ScalarType type = torch_type_of(info.kind, dtype_attr, where);
  torch::Tensor t = torch::empty(info.shape, torch::dtype(type));
  // 16-bit floats are read as their uint16 bits straight into the tensor's storage.
  f.read_dataset(dataset, info.kind, t.data_ptr());
  return t;
}

// A tensor name becomes an HDF5 link name inside its group: dots are fine there, '/' would make
// it a path, and "." / ".." name the group itself.
void check_names(const NamedTensors& tensors, const std::string& group) {
  std::set<std::string> seen;
  for (const auto& [name, tensor] : tensors) {
    ELM_CHECK(!name.empty(), "checkpoint: a tensor in ", group, " has an empty name");
    ELM_CHECK(name.find('/') == std::string::npos, "checkpoint: tensor name '", name, "' in ", group,
              " contains '/', which HDF5 would read as a group separator");
    ELM_CHECK(name != "." && name != "..", "checkpoint: tensor name '", name, "' in ", group, " is not allowed");
    ELM_CHECK(seen.insert(name).second, "checkpoint: tensor name '", name, "' appears twice in ", group);
  }
}

void write_group(H5File& f, const std::string& group, const NamedTensors& tensors) {
  f.create_group(group);
  for (const auto& [name, tensor] : tensors) {
    write_tensor(f, "/" + group + "/" + name, "tensor '" + name + "' in " + group, tensor);
  }
}

NamedTensors read_group(const H5File& f, const std::string& group) {
  NamedTensors out;
  for (const std::string& name : f.list_group(group)) out.emplace_back(name, read_tensor(f, "/" + group + "/" + name));
  return out;
}

// ---- durability ----

// fsync of a closed file by path: HDF5 keeps its descriptor to itself, so the data is synced
// after H5Fclose through a fresh descriptor (which syncs the same inode's dirty pages).
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

// Everything but the publish step. The collective (MPI-IO) writer of a later issue replaces this:
// every rank opens `tmp` together and writes its rows of the sharded datasets.
void write_contents(const std::string& tmp, const TrainingState& state) {
  H5File f = H5File::create(tmp);
  f.set_attribute("format", kCheckpointFormat);
  f.set_attribute("format_version", kCheckpointFormatVersion);
  f.set_attribute("step", state.step);
  f.set_attribute("stage", state.stage);
  f.set_attribute("created", utc_now());

  f.create_string("config", state.config_text);
  const std::vector<int64_t> cursor = state.cursor.to_vector();
  f.create_dataset("cursor", H5Kind::Int64, {static_cast<int64_t>(cursor.size())}, cursor.data());
  f.set_attribute("fields", "epoch, position, seed (uint64 bits)", "/cursor");

  f.create_group("schedule");
  f.create_dataset("schedule/peak", H5Kind::Float64, {}, &state.schedule.peak);
  f.create_dataset("schedule/warmup_steps", H5Kind::Int64, {}, &state.schedule.warmup_steps);
  f.create_dataset("schedule/total_steps", H5Kind::Int64, {}, &state.schedule.total_steps);
  f.create_dataset("schedule/min_lr_ratio", H5Kind::Float64, {}, &state.schedule.min_lr_ratio);

  f.create_group("rng");
  if (state.rng_state.defined()) write_tensor(f, "/rng/torch", "rng_state", state.rng_state);
  if (state.selection_rng_state.defined()) {
    write_tensor(f, "/rng/selection", "selection_rng_state", state.selection_rng_state);
  }

  write_group(f, "parameters", state.parameters);
  write_group(f, "optimizer", state.optimizer);
  if (!state.bank.empty()) write_group(f, "bank", state.bank);
  if (!state.metrics_json.empty()) f.create_string("metrics", state.metrics_json);

  // Last: everything above is on disk before the marker that makes the file loadable.
  f.flush();
  f.set_attribute(kComplete, int64_t{1});
  f.flush();
  f.close();
}

// Opens a checkpoint and checks its root attributes; the error says what is wrong with the file.
H5File open_checkpoint(const std::string& path) {
  H5File f = H5File::open_read(path);
  ELM_CHECK(f.has_attribute("format") && f.attribute_string("format") == kCheckpointFormat, "checkpoint ", path,
            ": not an ExplicitLM checkpoint (root attribute 'format' is not \"", kCheckpointFormat, "\")");
  ELM_CHECK(f.has_attribute(kComplete) && f.attribute_int(kComplete) == 1, "checkpoint ", path,
            ": incomplete, the 'complete' marker is missing (the write did not finish); use an older checkpoint");
  ELM_CHECK(f.has_attribute("format_version"), "checkpoint ", path, ": root attribute 'format_version' is missing");
  const int64_t version = f.attribute_int("format_version");
  ELM_CHECK(version == kCheckpointFormatVersion, "checkpoint ", path, ": format_version ", version,
            " is not supported (this build reads version ", kCheckpointFormatVersion, ")");
  ELM_CHECK(f.has_attribute("step"), "checkpoint ", path, ": root attribute 'step' is missing");
  return f;
}

template <class T>
T read_scalar(const H5File& f, const std::string& name, H5Kind kind) {
  const auto info = f.dataset_info(name);
  ELM_CHECK(info.shape.empty(), "checkpoint ", f.path(), ": dataset '/", name, "' is not a scalar");
  T v{};
  f.read_dataset(name, kind, &v);
  return v;
}

}  // namespace

void write_checkpoint(const std::string& path, const TrainingState& state) {
  ELM_CHECK(!path.empty(), "checkpoint: empty path");
  ELM_CHECK(state.step >= 0, "checkpoint ", path, ": negative step ", state.step);
  // Names first: a bad name fails before anything touches the disk.
  check_names(state.parameters, "parameters");
  check_names(state.optimizer, "optimizer");
  check_names(state.bank, "bank");

  const std::string tmp = path + ".tmp";
  try {
    write_contents(tmp, state);
    fsync_path(tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      fail("checkpoint: cannot rename '", tmp, "' to '", path, "': ", std::strerror(errno));
    }
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);  // a failed write leaves nothing behind (and never touches `path`)
    throw;
  }
  fsync_parent_dir(path);
}

TrainingState read_checkpoint(const std::string& path) {
  const H5File f = open_checkpoint(path);
  TrainingState s;
  s.step = f.attribute_int("step");
  s.stage = f.has_attribute("stage") ? f.attribute_string("stage") : "";
  s.config_text = f.read_string("config");

  const auto cursor_info = f.dataset_info("cursor");
  ELM_CHECK(cursor_info.shape == std::vector<int64_t>{3}, "checkpoint ", path,
            ": dataset '/cursor' must hold 3 int64 values (epoch, position, seed)");
  std::vector<int64_t> cursor(3);
  f.read_dataset("cursor", H5Kind::Int64, cursor.data());
  s.cursor = DataCursor::from_vector(cursor);

  s.schedule.peak = read_scalar<double>(f, "schedule/peak", H5Kind::Float64);
  s.schedule.warmup_steps = read_scalar<int64_t>(f, "schedule/warmup_steps", H5Kind::Int64);
  s.schedule.total_steps = read_scalar<int64_t>(f, "schedule/total_steps", H5Kind::Int64);
  s.schedule.min_lr_ratio = read_scalar<double>(f, "schedule/min_lr_ratio", H5Kind::Float64);

  if (f.has_dataset("rng/torch")) s.rng_state = read_tensor(f, "/rng/torch");
  if (f.has_dataset("rng/selection")) s.selection_rng_state = read_tensor(f, "/rng/selection");

  s.parameters = read_group(f, "parameters");
  s.optimizer = read_group(f, "optimizer");
  if (f.has_group("bank")) s.bank = read_group(f, "bank");
  if (f.has_dataset("metrics")) s.metrics_json = f.read_string("metrics");
  return s;
}

bool is_complete_checkpoint(const std::string& path) {
  try {
    if (!io::is_hdf5_file(path)) return false;
    open_checkpoint(path);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::int64_t checkpoint_step(const std::string& path) { return open_checkpoint(path).attribute_int("step"); }

void load_parameters(const NamedTensors& params, const NamedTensors& saved, const std::string& origin,
                     bool require_all) {
  std::map<std::string, torch::Tensor> by_name(saved.begin(), saved.end());
  torch::NoGradGuard no_grad;
  int64_t loaded = 0;
  for (const auto& [name, p] : params) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      ELM_CHECK(!require_all, origin, " has no parameter ", name);
      continue;
    }
    ELM_CHECK(it->second.sizes() == p.sizes(), origin, ": parameter ", name, " has shape ", it->second.sizes(),
              ", the model's is ", p.sizes());
    p.copy_(it->second.to(p.scalar_type()));
    ++loaded;
  }
  // (A pipeline stage without memory layers has no parameters: nothing to load.)
  ELM_CHECK(loaded > 0 || params.empty(), origin, " holds none of the ", params.size(), " trainable parameters");
  ELM_LOG(info) << "loaded " << loaded << " of " << params.size() << " parameters from " << origin;
}

}  // namespace elm::train
