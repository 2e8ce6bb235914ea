// explicitlm ckpt inspect|verify|export: a training checkpoint (HDF5, docs/checkpoints.md) from the
// command line. PATH is a checkpoint file, a checkpoint directory or a run directory
// (train::resolve_checkpoint_path picks the newest complete checkpoint of a directory).
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "app/cli_args.h"
#include "app/commands.h"
#include "app/runtime.h"
#include "core/error.h"
#include "io/hdf5_file.h"
#include "io/safetensors.h"
#include "train/checkpoint.h"
#include "train/checkpoint_format.h"
#include "train/checkpointer.h"

namespace elm::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The groups of a checkpoint that hold named tensors, in the order they are reported.
constexpr const char* kTensorGroups[] = {"parameters", "optimizer", "bank"};

// `ckpt SUB PATH ...`: the checkpoint is the first argument after the subcommand (as for `bank`).
std::string take_path(const std::string& sub, Args& args) {
  return take_leading_path(args, "explicitlm ckpt " + sub + ": missing the checkpoint (usage: explicitlm ckpt " + sub +
                                     " PATH ...; PATH is a .h5 file, a checkpoint directory or a run directory; "
                                     "see --help)");
}

// The names users know from torch / numpy ("float32"), not c10's ("Float").
const char* dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return "float32";
    case torch::kFloat64: return "float64";
    case torch::kBFloat16: return "bfloat16";
    case torch::kFloat16: return "float16";
    case torch::kInt64: return "int64";
    case torch::kInt32: return "int32";
    case torch::kInt8: return "int8";
    case torch::kUInt8: return "uint8";
    case torch::kBool: return "bool";
    default: return "other";
  }
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  return out.str() + "]";
}

struct TensorEntry {
  std::string group, name;
  torch::ScalarType dtype;
  std::vector<int64_t> shape;
  int64_t bytes = 0;
};

// Every tensor of the parameter, optimizer and bank groups from the file's metadata alone: no
// tensor data is read, so this is cheap even for a large bank. The dtype is decoded the way the
// reader decodes it (16-bit floats are uint16 datasets with a `dtype` attribute).
std::vector<TensorEntry> list_tensors(const io::H5File& f) {
  using train::format::kDtypeAttr;
  std::vector<TensorEntry> out;
  for (const char* group : kTensorGroups) {
    if (!f.has_group(group)) continue;
    for (const std::string& name : f.list_group(group)) {
      const std::string dataset = str_cat("/", group, "/", name);
      const io::H5DatasetInfo info = f.dataset_info(dataset);
      const std::string attr = f.has_attribute(kDtypeAttr, dataset) ? f.attribute_string(kDtypeAttr, dataset) : "";
      const std::string where = str_cat("checkpoint ", f.path(), ": dataset '", dataset, "'");
      TensorEntry e{group, name, train::format::torch_type_of(info.kind, attr, where), info.shape};
      int64_t numel = 1;
      for (int64_t d : info.shape) numel *= d;
      e.bytes = numel * static_cast<int64_t>(c10::elementSize(e.dtype));
      out.push_back(std::move(e));
    }
  }
  return out;
}

// The small parts of a checkpoint (root attributes, cursor, schedule, config, metrics, RNG): the
// reader's own checks apply, but no parameter, optimizer or bank data is read.
train::TrainingState read_header(const std::string& path) {
  train::CheckpointSelection sel;
  sel.parameter = [](const std::string&) { return false; };
  sel.optimizer = false;
  sel.bank = false;
  return train::read_checkpoint_part(path, sel);
}

int run_inspect(Args args) {
  const std::string given = take_path("inspect", args);
  ArgParser p("ckpt inspect", "PATH [--tensors] [--config] [--json]",
              "Prints what a checkpoint holds: format version, step, stage, creation time, world size, the\n"
              "data cursor, the learning-rate schedule, the count and bytes of the parameter, optimizer and\n"
              "bank tensors, and the last metrics line. Reads the metadata and the small datasets only; it does\n"
              "not check the checksums (that is `ckpt verify`).");
  p.flag("--tensors", "also list every tensor: GROUP/NAME  DTYPE  [SHAPE]  BYTES")
      .flag("--config", "print only the run's resolved config (TOML, loadable with --config FILE)")
      .flag("--json", "one JSON object instead of text")
      .notes("PATH: a checkpoint file (step-<N>.h5), a checkpoint directory or a run directory (its newest\n"
             "complete checkpoint). Here --config is a flag and takes no FILE.")
      .examples("  explicitlm ckpt inspect runs/a/checkpoints/step-00000100.h5\n"
                "  explicitlm ckpt inspect runs/a --tensors\n"
                "  explicitlm ckpt inspect runs/a --config > a.toml\n"
                "  explicitlm ckpt inspect runs/a --json");
  if (!p.parse(args)) return 0;
  ELM_CHECK(!(p.has("--config") && (p.has("--tensors") || p.has("--json"))),
            "explicitlm ckpt inspect: --config prints only the config; it cannot be combined with --tensors or --json");
  Runtime rt = start_runtime("ckpt-inspect", p.config());
  const std::string path = train::resolve_checkpoint_path(given);
  const train::TrainingState s = read_header(path);
  if (p.has("--config")) {
    std::cout << s.config_text << (s.config_text.empty() || s.config_text.back() != '\n' ? "\n" : "");
    return 0;
  }
  // read_header checked the file; what TrainingState does not carry comes from the metadata.
  const io::H5File f = io::H5File::open_read(path);
  const std::string created = f.has_attribute("created") ? f.attribute_string("created") : "";
  const int64_t version = f.attribute_int("format_version");
  const std::vector<TensorEntry> tensors = list_tensors(f);
  struct Total {
    int64_t tensors = 0, bytes = 0;
  };
  std::map<std::string, Total> totals;
  for (const auto& t : tensors) {
    ++totals[t.group].tensors;
    totals[t.group].bytes += t.bytes;
  }
  const int64_t rng_ranks = s.rng_states.defined() ? s.rng_states.size(0) : 0;

  if (p.has("--json")) {
    json j = {{"path", path},
              {"format_version", version},
              {"step", s.step},
              {"stage", s.stage},
              {"created", created},
              {"world_size", s.world_size},
              {"cursor", {{"epoch", s.cursor.epoch}, {"position", s.cursor.position}, {"seed", s.cursor.seed}}},
              {"schedule",
               {{"peak", s.schedule.peak},
                {"warmup_steps", s.schedule.warmup_steps},
                {"total_steps", s.schedule.total_steps},
                {"min_lr_ratio", s.schedule.min_lr_ratio}}},
              {"groups", json::object()},
              {"rng_ranks", rng_ranks},
              {"metrics", nullptr}};
    for (const char* g : kTensorGroups) j["groups"][g] = {{"tensors", totals[g].tensors}, {"bytes", totals[g].bytes}};
    if (!s.metrics_json.empty()) {
      // Kept as text when it does not parse: inspect reports, it does not judge.
      json m = json::parse(s.metrics_json, nullptr, false);
      j["metrics"] = m.is_discarded() ? json(s.metrics_json) : m;
    }
    if (p.has("--tensors")) {
      j["tensors"] = json::array();
      for (const auto& t : tensors) {
        j["tensors"].push_back({{"group", t.group},
                                {"name", t.name},
                                {"dtype", dtype_name(t.dtype)},
                                {"shape", t.shape},
                                {"bytes", t.bytes}});
      }
    }
    std::cout << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    return 0;
  }

  std::cout << "checkpoint  " << path << "\n"
            << "format      " << train::kCheckpointFormat << " version " << version << "\n"
            << "step        " << s.step << "\n"
            << "stage       " << (s.stage.empty() ? "-" : s.stage) << "\n"
            << "created     " << (created.empty() ? "-" : created) << "\n"
            << "world_size  " << s.world_size << "\n"
            << "cursor      " << s.cursor.to_string() << "\n"
            << "schedule    peak=" << s.schedule.peak << " warmup_steps=" << s.schedule.warmup_steps
            << " total_steps=" << s.schedule.total_steps << " min_lr_ratio=" << s.schedule.min_lr_ratio << "\n";
  for (const char* g : kTensorGroups) {
    const std::string name = g;
    const Total& total = totals[name];
    std::cout << name << std::string(12 - name.size(), ' ');
    if (total.tensors == 0 && name == "bank") {
      std::cout << "not saved\n";
    } else {
      std::cout << total.tensors << " tensor" << (total.tensors == 1 ? "" : "s") << ", " << total.bytes << " bytes\n";
    }
  }
  std::cout << "rng         " << (rng_ranks ? str_cat(rng_ranks, " rank state(s)") : std::string("not saved"))
            << (s.selection_rng_state.defined() ? ", selection state" : "") << "\n"
            << "metrics     " << (s.metrics_json.empty() ? "not saved" : s.metrics_json) << "\n";
  if (p.has("--tensors")) {
    std::cout << "tensors:\n";
    for (const auto& t : tensors) {
      std::cout << "  " << t.group << "/" << t.name << "  " << dtype_name(t.dtype) << "  " << shape_text(t.shape)
                << "  " << t.bytes << " bytes\n";
    }
  }
  return 0;
}

int run_verify(Args args) {
  const std::string given = take_path("verify", args);
  ArgParser p("ckpt verify", "PATH [--json]",
              "Recomputes the checksum of every dataset of a checkpoint and compares it with the stored one.\n"
              "Prints `OK: step N, D datasets, B bytes verified in FILE` and exits 0, or FAILED and each\n"
              "problem (the dataset and the mismatch, or why the file cannot be read) and exits 1.\n"
              "Format version 1 files have no checksums and fail verification.");
  p.flag("--json", "one JSON object {path, ok, step, format_version, datasets, bytes, problems}")
      .notes("PATH: a checkpoint file (step-<N>.h5), a checkpoint directory or a run directory (its newest\n"
             "complete checkpoint).")
      .examples("  explicitlm ckpt verify runs/a/checkpoints/step-00000100.h5\n"
                "  explicitlm ckpt verify runs/a && echo intact\n"
                "  explicitlm ckpt verify runs/a --json");
  if (!p.parse(args)) return 0;
  Runtime rt = start_runtime("ckpt-verify", p.config());
  const std::string path = train::resolve_checkpoint_path(given);
  const train::CheckpointVerification v = train::verify_checkpoint(path);
  if (p.has("--json")) {
    std::cout << json({{"path", path},
                       {"ok", v.ok()},
                       {"step", v.step},
                       {"format_version", v.format_version},
                       {"datasets", v.datasets},
                       {"bytes", v.bytes},
                       {"problems", v.problems}})
                     .dump(-1, ' ', false, json::error_handler_t::replace)
              << "\n";
    return v.ok() ? 0 : 1;
  }
  if (v.ok()) {
    std::cout << "OK: step " << v.step << ", " << v.datasets << " datasets, " << v.bytes << " bytes verified in "
              << path << "\n";
    return 0;
  }
  std::cout << "FAILED: " << path << ": " << v.problems.size() << " problem" << (v.problems.size() == 1 ? "" : "s")
            << "\n";
  for (const auto& problem : v.problems) std::cout << "  " << problem << "\n";
  return 1;
}

io::DType safetensors_dtype(torch::ScalarType t, const std::string& name) {
  switch (t) {
    case torch::kFloat32: return io::DType::F32;
    case torch::kFloat64: return io::DType::F64;
    case torch::kBFloat16: return io::DType::BF16;
    case torch::kFloat16: return io::DType::F16;
    case torch::kInt64: return io::DType::I64;
    case torch::kInt32: return io::DType::I32;
    case torch::kInt8: return io::DType::I8;
    case torch::kUInt8: return io::DType::U8;
    case torch::kBool: return io::DType::BOOL;
    default: break;
  }
  fail("explicitlm ckpt export: parameter ", name, " has dtype ", c10::toString(t), ", which safetensors cannot hold");
}

int run_export(Args args) {
  const std::string given = take_path("export", args);
  ArgParser p("ckpt export", "PATH --out FILE.safetensors [--dtype keep|f32|bf16] [--force] [--no-verify]",
              "Writes the trainable parameters of a checkpoint (not the optimizer state, bank or RNG) as one\n"
              "safetensors file, under the names they have in the checkpoint (memory.layers.0.router.keys),\n"
              "with the step, stage and source in its __metadata__. The file is written atomically (FILE.tmp,\n"
              "fsync, rename). The checkpoint's checksums are verified first and a damaged checkpoint is\n"
              "refused, naming the damaged dataset. Prints what it wrote.");
  p.option("--out", "FILE", "the safetensors file to write")
      .option("--dtype", "D", "keep (default: as stored), f32 or bf16 (floats converted, bf16 rounds to nearest even)")
      .flag("--force", "replace FILE when it exists (default: an error)")
      .flag("--no-verify", "skip the checksum verification (export a checkpoint known to be damaged)")
      .notes("PATH: a checkpoint file (step-<N>.h5), a checkpoint directory or a run directory (its newest\n"
             "complete checkpoint).")
      .examples("  explicitlm ckpt export runs/a --out memory.safetensors\n"
                "  explicitlm ckpt export runs/a/checkpoints/step-00000100.h5 --out m.safetensors --dtype bf16\n"
                "  explicitlm ckpt export runs/a --out memory.safetensors --force   # replace an older export");
  if (!p.parse(args)) return 0;
  const std::string out = p.get("--out");
  const std::string dtype = p.get_or("--dtype", "keep");
  ELM_CHECK(dtype == "keep" || dtype == "f32" || dtype == "bf16", "explicitlm ckpt export: --dtype '", dtype,
            "' is not one of keep, f32, bf16");
  std::error_code ec;
  ELM_CHECK(!fs::is_directory(out, ec), "explicitlm ckpt export: --out ", out, " is a directory; name a file");
  // Checked before any work so a mistyped --out fails at once; write_safetensors replaces atomically.
  ELM_CHECK(p.has("--force") || !fs::exists(out, ec), "explicitlm ckpt export: ", out,
            " exists; pass --force to replace it");
  Runtime rt = start_runtime("ckpt-export", p.config());
  const std::string path = train::resolve_checkpoint_path(given);
  ELM_CHECK(!fs::exists(out, ec) || !fs::equivalent(out, path, ec), "explicitlm ckpt export: --out ", out,
            " is the checkpoint itself");

  if (!p.has("--no-verify")) {
    const train::CheckpointVerification v = train::verify_checkpoint(path);
    if (!v.ok()) {
      std::string list;  // one line: the log prints a message on one line
      for (const auto& problem : v.problems) list += (list.empty() ? " " : "; ") + problem;
      fail("explicitlm ckpt export: checkpoint ", path, " failed verification (", v.problems.size(), " problem",
           v.problems.size() == 1 ? "" : "s", "; pass --no-verify to export anyway):", list);
    }
  }

  train::CheckpointSelection sel;  // the parameters only
  sel.optimizer = false;
  sel.bank = false;
  const train::TrainingState s = train::read_checkpoint_part(path, sel);
  ELM_CHECK(!s.parameters.empty(), "explicitlm ckpt export: checkpoint ", path, " holds no parameters");

  std::vector<torch::Tensor> keep_alive;  // the buffers TensorToWrite points into
  std::vector<io::TensorToWrite> tensors;
  int64_t bytes = 0;
  for (const auto& [name, stored] : s.parameters) {
    torch::Tensor t = stored;
    if (dtype != "keep" && t.is_floating_point()) t = t.to(dtype == "f32" ? torch::kFloat32 : torch::kBFloat16);
    t = t.contiguous();
    keep_alive.push_back(t);
    tensors.push_back({name, safetensors_dtype(t.scalar_type(), name), t.sizes().vec(), t.data_ptr()});
    bytes += static_cast<int64_t>(t.nbytes());
  }
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"source", path}, {"step", std::to_string(s.step)}, {"stage", s.stage}};
  io::write_safetensors(out, tensors, metadata);
  std::cout << "wrote " << out << ": " << tensors.size() << " tensor" << (tensors.size() == 1 ? "" : "s") << ", "
            << bytes << " bytes of tensor data (file " << fs::file_size(out) << " bytes, dtype " << dtype
            << ") from step " << s.step << " of " << path << "\n";
  return 0;
}

const char* kCkptUsage =
    "Usage: explicitlm ckpt SUBCOMMAND PATH [options]\n\n"
    "A training checkpoint (HDF5; layout in docs/checkpoints.md). PATH is a checkpoint file\n"
    "(step-<N>.h5), a checkpoint directory or a run directory (its newest complete checkpoint).\n\n"
    "  inspect  step, stage, cursor, schedule, tensors    ckpt inspect PATH [--tensors] [--config] [--json]\n"
    "  verify   recompute every checksum (1 = damaged)    ckpt verify PATH [--json]\n"
    "  export   the parameters as one safetensors file    ckpt export PATH --out FILE [--dtype keep|f32|bf16]\n\n"
    "Examples:\n"
    "  explicitlm ckpt inspect runs/a --tensors\n"
    "  explicitlm ckpt verify runs/a/checkpoints/step-00000100.h5\n"
    "  explicitlm ckpt export runs/a --out memory.safetensors --dtype bf16\n\n"
    "`explicitlm ckpt SUBCOMMAND --help` describes each, with examples.\n";

}  // namespace

int run_ckpt(const Args& args) {
  return run_subcommand("ckpt", args, kCkptUsage, {{"inspect", run_inspect}, {"verify", run_verify}, {"export", run_export}});
}

}  // namespace elm::app
