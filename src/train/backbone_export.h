#pragma once
// Writes a (trained) backbone as a Hugging Face model directory: the source directory's
// config.json and tokenizer files, and model.safetensors with the current weights. Used by the
// backbone stage (tiny demos), whose output the memory stages then load as model.qwen3_model_path.
#include <string>

#include "model/qwen3_model.h"

namespace elm::train {

// out_dir is created. Files are written atomically, config.json last (a directory with a
// config.json is complete). dtype: "f32" or "bf16" on disk.
void export_backbone(const model::Qwen3Model& model, const std::string& source_dir, const std::string& out_dir,
                     const std::string& dtype = "f32");

}  // namespace elm::train
