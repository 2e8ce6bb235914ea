#include "model/tiny_qwen3.h"

#include <cmath>

#include <filesystem>

#include "core/error.h"
#include "core/atomic_file.h"
#include "io/half.h"
#include "io/safetensors.h"

namespace elm::model {

namespace fs = std::filesystem;

Qwen3Config TinyQwen3Options::tiny_qwen3_config() {
  Qwen3Config c;
  c.vocab_size = 151936;
  c.hidden_size = 64;
  c.intermediate_size = 160;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 32;
  c.max_position_embeddings = 4096;
  c.torch_dtype = "bfloat16";
  return c;
}

void save_qwen3_safetensors(const std::string& path, const Qwen3Weights& weights, const std::string& dtype) {
  const bool bf16 = dtype == "bf16" || dtype == "bfloat16";
  ELM_CHECK(bf16 || dtype == "f32" || dtype == "float32", "unknown weight dtype '", dtype, "' (bf16 or f32)");
  std::vector<torch::Tensor> keep_alive;
  std::vector<io::TensorToWrite> tensors;
  for (const auto& [name, tensor] : weights.named_tensors()) {
    auto t = tensor.to(torch::kFloat32).contiguous();
    if (bf16) {
      // Round to nearest even through the same helper the reader's tests check.
      auto bits = torch::empty(t.sizes(), torch::kInt16);
      const float* src = t.data_ptr<float>();
      auto* dst = reinterpret_cast<uint16_t*>(bits.data_ptr<int16_t>());
      for (int64_t i = 0; i < t.numel(); ++i) dst[i] = io::f32_to_bf16(src[i]);
      t = bits;
    }
    keep_alive.push_back(t);
    tensors.push_back({name, bf16 ? io::DType::BF16 : io::DType::F32,
                       std::vector<int64_t>(t.sizes().begin(), t.sizes().end()), t.data_ptr()});
  }
  io::write_safetensors(path, tensors, {{"format", "pt"}});
}

std::string write_tiny_qwen3(const std::string& out_dir, const TinyQwen3Options& options) {
  const bool f32 = options.dtype == "f32" || options.dtype == "float32";
  ELM_CHECK(f32 || options.dtype == "bf16" || options.dtype == "bfloat16", "unknown weight dtype '", options.dtype,
            "' (bf16 or f32)");
  Qwen3Config config = options.config;
  config.torch_dtype = f32 ? "float32" : "bfloat16";
  config.validate("tiny Qwen3 options");

  // Check every input before writing anything, so a failure never leaves a mismatched directory.
  fs::path tokenizer_src;
  if (!options.tokenizer_dir.empty()) {
    tokenizer_src = options.tokenizer_dir;
    if (!fs::is_directory(tokenizer_src)) tokenizer_src = tokenizer_src.parent_path();
    ELM_CHECK(fs::exists(tokenizer_src / "tokenizer.json"), "no tokenizer.json in ", tokenizer_src.string(),
              " (run tools/setup.sh to export the Qwen3 tokenizer)");
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  ELM_CHECK(!ec, "cannot create model directory ", out_dir, ": ", ec.message());

  // Weights and tokenizer first, config.json last: a directory with a config.json is complete.
  const std::string weights_path = (fs::path(out_dir) / "model.safetensors").string();
  ELM_CHECK(options.embed_std > 0 && std::isfinite(options.embed_std), "embed_std must be > 0, got ", options.embed_std);
  Qwen3Weights weights = random_qwen3_weights(config, options.seed);
  if (options.embed_std != 0.02) {
    // random_qwen3_weights draws N(0, 0.02): rescaling keeps the same seed's directions.
    torch::NoGradGuard no_grad;
    weights.embed_tokens.mul_(options.embed_std / 0.02);
    if (weights.lm_head.defined()) weights.lm_head.mul_(options.embed_std / 0.02);
  }
  save_qwen3_safetensors(weights_path, weights, options.dtype);
  if (!tokenizer_src.empty()) {
    for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
      if (!fs::exists(tokenizer_src / name)) continue;
      fs::copy_file(tokenizer_src / name, fs::path(out_dir) / name, fs::copy_options::overwrite_existing, ec);
      ELM_CHECK(!ec, "cannot copy ", (tokenizer_src / name).string(), " to ", out_dir, ": ", ec.message());
    }
  }
  write_file_atomic((fs::path(out_dir) / "config.json").string(), qwen3_config_to_json(config));
  return weights_path;
}

}  // namespace elm::model
