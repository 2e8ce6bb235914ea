#include "train/backbone_export.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "model/tiny_qwen3.h"

namespace elm::train {

namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  ELM_CHECK(in.good(), "cannot read ", p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

void export_backbone(const model::Qwen3Model& model, const std::string& source_dir, const std::string& out_dir,
                     const std::string& dtype) {
  const fs::path src(source_dir), out(out_dir);
  ELM_CHECK(fs::exists(src / "config.json"), "backbone export: no config.json in ", source_dir);
  ELM_CHECK(fs::weakly_canonical(src) != fs::weakly_canonical(out),
            "backbone export: the output directory ", out_dir, " is the source model directory");
  fs::create_directories(out);
  // A stale config.json would mark a half-written directory complete: remove it first.
  fs::remove(out / "config.json");
  torch::NoGradGuard no_grad;
  model::save_qwen3_safetensors((out / "model.safetensors").string(), model.weights(), dtype);
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "generation_config.json"}) {
    if (fs::exists(src / name)) write_file_atomic((out / name).string(), read_all(src / name));
  }
  write_file_atomic((out / "config.json").string(), read_all(src / "config.json"));
}

}  // namespace elm::train
