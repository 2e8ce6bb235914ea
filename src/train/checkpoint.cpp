#include "train/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "core/error.h"
#include "core/logging.h"
#include "io/hdf5_file.h"
#include "io/row_checksum.h"
#include "train/checkpoint_format.h"

namespace elm::train {

namespace format {

using io::H5Kind;

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

}  // namespace format

namespace {

namespace fs = std::filesystem;
using io::H5File;
using io::H5Kind;
using format::kDtypeAttr;
using format::kComplete;

torch::Tensor read_tensor(const H5File& f, const std::string& dataset) {
  const std::string where = "checkpoint " + f.path() + ": dataset '" + dataset + "'";
  const io::H5DatasetInfo info = f.dataset_info(dataset);
  const std::string dtype_attr = f.has_attribute(kDtypeAttr, dataset) ? f.attribute_string(kDtypeAttr, dataset) : "";
  const torch::ScalarType type = format::torch_type_of(info.kind, dtype_attr, where);
  torch::Tensor t = torch::empty(info.shape, torch::dtype(type));
  // 16-bit floats are read as their uint16 bits straight into the tensor's storage.
  f.read_dataset(dataset, info.kind, t.data_ptr());
  return t;
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
  ELM_CHECK(version >= 1 && version <= kCheckpointFormatVersion, "checkpoint ", path, ": format_version ", version,
            " is not supported (this build reads versions 1 to ", kCheckpointFormatVersion, ")");
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

// The parameter an optimizer entry belongs to: "<param>.<field>" -> "<param>".
std::string owner_of(const std::string& optimizer_entry) {
  const auto dot = optimizer_entry.rfind('.');
  return dot == std::string::npos ? optimizer_entry : optimizer_entry.substr(0, dot);
}

NamedTensors read_group(const H5File& f, const std::string& group, const std::function<bool(const std::string&)>& want) {
  NamedTensors out;
  for (const std::string& name : f.list_group(group)) {
    if (!want || want(name)) out.emplace_back(name, read_tensor(f, "/" + group + "/" + name));
  }
  return out;
}

// Rows of a bank dataset: tokens (int32) or validity (bool / uint8).
torch::Tensor read_bank_rows(const H5File& f, const std::string& dataset, const CheckpointSelection::Rows& rows) {
  const io::H5DatasetInfo info = f.dataset_info(dataset);
  std::vector<int64_t> shape = info.shape;
  ELM_CHECK(!shape.empty(), "checkpoint ", f.path(), ": dataset '", dataset, "' is a scalar, not bank rows");
  shape[0] = rows.count;
  if (info.kind == H5Kind::Int32) {
    torch::Tensor t = torch::empty(shape, torch::kInt32);
    f.read_int32_rows(dataset, rows.first, rows.count, t.data_ptr<int32_t>(), rows.stride);
    return t;
  }
  ELM_CHECK(info.kind == H5Kind::Bool || info.kind == H5Kind::UInt8, "checkpoint ", f.path(), ": dataset '", dataset,
            "' holds ", io::to_string(info.kind), "; bank rows are int32 tokens or bool validity");
  torch::Tensor t = torch::empty(shape, torch::kUInt8);
  f.read_uint8_rows(dataset, rows.first, rows.count, t.data_ptr<uint8_t>(), rows.stride);
  return info.kind == H5Kind::Bool ? t.to(torch::kBool) : t;
}

}  // namespace

TrainingState read_checkpoint_part(const std::string& path, const CheckpointSelection& sel) {
  const H5File f = open_checkpoint(path);
  TrainingState s;
  s.step = f.attribute_int("step");
  s.tokens_seen = f.has_attribute("tokens_seen") ? f.attribute_int("tokens_seen") : 0;
  s.stage = f.has_attribute("stage") ? f.attribute_string("stage") : "";
  s.world_size = f.has_attribute("world_size") ? static_cast<int>(f.attribute_int("world_size")) : 1;
  s.rank = sel.rank;
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

  if (f.has_dataset("rng/torch")) {
    torch::Tensor states = read_tensor(f, "/rng/torch");
    if (states.dim() == 1) states = states.unsqueeze(0);  // version 1: rank 0's state alone
    s.rng_states = states;
    if (sel.rank >= 0 && sel.rank < states.size(0)) s.rng_state = states[sel.rank].clone();
  }
  if (f.has_dataset("rng/selection")) s.selection_rng_state = read_tensor(f, "/rng/selection");

  s.parameters = read_group(f, "parameters", sel.parameter);
  if (sel.optimizer) {
    std::function<bool(const std::string&)> want;
    if (sel.parameter) want = [&](const std::string& entry) { return sel.parameter(owner_of(entry)); };
    s.optimizer = read_group(f, "optimizer", want);
  }
  if (sel.bank && f.has_group("bank")) {
    if (!sel.bank_rows) {
      s.bank = read_group(f, "bank", nullptr);
    } else {
      const std::vector<std::string> names = f.list_group("bank");
      for (const std::string& name : names) s.bank.emplace_back(name, read_bank_rows(f, "/bank/" + name, *sel.bank_rows));
      if (!names.empty()) {
        s.bank_rows = {f.dataset_info("/bank/" + names.front()).shape.at(0), sel.bank_rows->first,
                       sel.bank_rows->stride};
      }
    }
  }
  if (f.has_dataset("metrics")) s.metrics_json = f.read_string("metrics");
  return s;
}

TrainingState read_checkpoint(const std::string& path) { return read_checkpoint_part(path, {}); }

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

namespace {

// Every dataset of the file (groups one level deep, as checkpoints are laid out).
std::vector<std::string> all_datasets(const H5File& f) {
  std::vector<std::string> out;
  for (const std::string& name : f.list_group("/")) {
    const std::string full = "/" + name;
    if (f.has_group(full)) {
      for (const std::string& member : f.list_group(full)) out.push_back(full + "/" + member);
    } else {
      out.push_back(full);
    }
  }
  return out;
}

// The checksum of a dataset recomputed from the file, and its size in bytes.
std::pair<uint64_t, int64_t> checksum_of(const H5File& f, const std::string& dataset) {
  const io::H5DatasetInfo info = f.dataset_info(dataset);
  if (info.kind == H5Kind::String || info.kind == H5Kind::Other) {
    const std::string text = f.read_string(dataset);  // config, metrics (fixed-length text)
    return {io::row_hash(text.data(), text.size(), 0), static_cast<int64_t>(text.size())};
  }
  int64_t elements = 1;
  for (int64_t d : info.shape) elements *= d;
  const size_t bytes = static_cast<size_t>(elements) * io::element_size(info.kind);
  std::vector<unsigned char> buf(bytes);
  if (elements > 0) f.read_dataset(dataset, info.kind, buf.data());
  const int64_t rows = info.rows();
  const size_t row_bytes = rows == 0 ? 0 : bytes / static_cast<size_t>(rows);
  return {io::rows_checksum(buf.data(), rows, row_bytes, 0, 1), static_cast<int64_t>(bytes)};
}

}  // namespace

CheckpointVerification verify_checkpoint(const std::string& path) {
  CheckpointVerification v;
  std::optional<H5File> file;
  try {
    file.emplace(open_checkpoint(path));
    v.step = file->attribute_int("step");
    v.format_version = file->attribute_int("format_version");
  } catch (const std::exception& e) {
    v.problems.push_back(e.what());
    return v;
  }
  const H5File& f = *file;
  if (v.format_version < 2) {
    v.problems.push_back("checkpoint " + path + ": format_version " + std::to_string(v.format_version) +
                         " has no checksums to verify");
    return v;
  }
  std::vector<std::string> datasets;
  try {
    datasets = all_datasets(f);
  } catch (const std::exception& e) {
    v.problems.push_back(e.what());
    return v;
  }
  for (const std::string& d : {std::string("/config"), std::string("/cursor")}) {
    if (std::find(datasets.begin(), datasets.end(), d) == datasets.end()) {
      v.problems.push_back("dataset '" + d + "' is missing");
    }
  }
  for (const std::string& d : datasets) {
    try {
      ELM_CHECK(f.has_attribute(format::kChecksumAttr, d), "no checksum attribute");
      uint64_t stored = 0;
      const std::string text = f.attribute_string(format::kChecksumAttr, d);
      ELM_CHECK(io::parse_checksum_text(text, &stored), "checksum attribute '", text, "' is not xor64:<16 hex digits>");
      const auto [actual, bytes] = checksum_of(f, d);
      v.bytes += bytes;
      ++v.datasets;
      ELM_CHECK(actual == stored, "checksum ", io::checksum_text(actual), " of the data != stored ", text);
    } catch (const std::exception& e) {
      v.problems.push_back("dataset '" + d + "': " + e.what());
    }
  }
  return v;
}

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
