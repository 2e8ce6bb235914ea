#include "model/qwen3_weights.h"

#include <set>

#include "core/error.h"
#include "core/logging.h"
#include "io/safetensors.h"

namespace elm::model {
namespace {

std::string layer_prefix(size_t i) { return "model.layers." + std::to_string(i) + "."; }

using Shape = std::vector<int64_t>;

// One row per layer tensor: HF suffix, field, and the shape config.json implies. Loading,
// saving, the expected-tensor list and random initialisation all walk this one table.
struct LayerField {
  const char* suffix;
  torch::Tensor Qwen3LayerWeights::*member;
  Shape (*shape)(const Qwen3Config&);
};

const std::vector<LayerField>& layer_fields() {
  using L = Qwen3LayerWeights;
  using C = Qwen3Config;
  static const std::vector<LayerField> fields = {
      {"input_layernorm.weight", &L::input_layernorm, [](const C& c) -> Shape { return {c.hidden_size}; }},
      {"self_attn.q_proj.weight", &L::q_proj, [](const C& c) -> Shape { return {c.q_dim(), c.hidden_size}; }},
      {"self_attn.k_proj.weight", &L::k_proj, [](const C& c) -> Shape { return {c.kv_dim(), c.hidden_size}; }},
      {"self_attn.v_proj.weight", &L::v_proj, [](const C& c) -> Shape { return {c.kv_dim(), c.hidden_size}; }},
      {"self_attn.o_proj.weight", &L::o_proj, [](const C& c) -> Shape { return {c.hidden_size, c.q_dim()}; }},
      {"self_attn.q_norm.weight", &L::q_norm, [](const C& c) -> Shape { return {c.head_dim}; }},
      {"self_attn.k_norm.weight", &L::k_norm, [](const C& c) -> Shape { return {c.head_dim}; }},
      {"post_attention_layernorm.weight", &L::post_attention_layernorm,
       [](const C& c) -> Shape { return {c.hidden_size}; }},
      {"mlp.gate_proj.weight", &L::gate_proj, [](const C& c) -> Shape { return {c.intermediate_size, c.hidden_size}; }},
      {"mlp.up_proj.weight", &L::up_proj, [](const C& c) -> Shape { return {c.intermediate_size, c.hidden_size}; }},
      {"mlp.down_proj.weight", &L::down_proj, [](const C& c) -> Shape { return {c.hidden_size, c.intermediate_size}; }},
  };
  return fields;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

torch::Tensor read_tensor(const io::SafetensorsCheckpoint& ckpt, const std::string& name,
                          const std::vector<int64_t>& shape, torch::ScalarType dtype, const std::string& origin) {
  ELM_CHECK(ckpt.contains(name), origin, ": tensor '", name, "' is missing");
  const io::TensorInfo& info = ckpt.info(name);
  ELM_CHECK(info.shape == shape, origin, ": tensor '", name, "' has shape ", shape_str(info.shape),
            " but config.json implies ", shape_str(shape));
  ELM_CHECK(info.dtype == io::DType::BF16 || info.dtype == io::DType::F16 || info.dtype == io::DType::F32,
            origin, ": tensor '", name, "' has dtype ", io::dtype_name(info.dtype), "; expected BF16, F16 or F32");
  if (dtype == torch::kBFloat16) {
    auto out = torch::empty(shape, torch::kBFloat16);
    ckpt.read_as_bf16(name, reinterpret_cast<uint16_t*>(out.data_ptr()));
    return out;
  }
  auto out = torch::empty(shape, torch::kFloat32);
  ckpt.read_as_f32(name, out.data_ptr<float>());
  return dtype == torch::kFloat32 ? out : out.to(dtype);
}

}  // namespace

std::vector<std::pair<std::string, std::vector<int64_t>>> expected_qwen3_tensors(const Qwen3Config& c) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  out.push_back({"model.embed_tokens.weight", {c.vocab_size, c.hidden_size}});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    for (const auto& field : layer_fields()) out.push_back({layer_prefix(i) + field.suffix, field.shape(c)});
  }
  out.push_back({"model.norm.weight", {c.hidden_size}});
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> Qwen3Weights::named_tensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  out.emplace_back("model.embed_tokens.weight", embed_tokens);
  for (size_t i = 0; i < layers.size(); ++i) {
    for (const auto& f : layer_fields()) out.emplace_back(layer_prefix(i) + f.suffix, layers[i].*f.member);
  }
  out.emplace_back("model.norm.weight", norm);
  if (lm_head.defined()) out.emplace_back("lm_head.weight", lm_head);
  return out;
}

Qwen3Weights Qwen3Weights::to(torch::ScalarType dtype) const {
  Qwen3Weights out = *this;
  out.embed_tokens = embed_tokens.to(dtype);
  for (auto& layer : out.layers) {
    for (const auto& f : layer_fields()) layer.*f.member = (layer.*f.member).to(dtype);
  }
  out.norm = norm.to(dtype);
  if (lm_head.defined()) out.lm_head = lm_head.to(dtype);
  return out;
}

Qwen3Weights load_qwen3_weights(const io::SafetensorsCheckpoint& ckpt, const Qwen3Config& config,
                                torch::ScalarType dtype, const std::string& origin) {
  ELM_CHECK(dtype == torch::kFloat32 || dtype == torch::kBFloat16, "unsupported compute dtype");
  torch::NoGradGuard no_grad;
  Qwen3Weights w;
  std::set<std::string> used;
  auto load = [&](const std::string& name, const std::vector<int64_t>& shape) {
    used.insert(name);
    return read_tensor(ckpt, name, shape, dtype, origin);
  };
  w.embed_tokens = load("model.embed_tokens.weight", {config.vocab_size, config.hidden_size});
  w.layers.resize(config.num_hidden_layers);
  for (size_t i = 0; i < w.layers.size(); ++i) {
    for (const auto& f : layer_fields()) w.layers[i].*f.member = load(layer_prefix(i) + f.suffix, f.shape(config));
  }
  w.norm = load("model.norm.weight", {config.hidden_size});
  if (ckpt.contains("lm_head.weight")) {
    w.lm_head = load("lm_head.weight", {config.vocab_size, config.hidden_size});
  } else {
    ELM_CHECK(config.tie_word_embeddings, origin,
              ": lm_head.weight is missing and tie_word_embeddings is false in config.json");
  }
  std::vector<std::string> unused;
  for (const auto& name : ckpt.names()) {
    if (!used.count(name)) unused.push_back(name);
  }
  if (!unused.empty()) {
    ELM_LOG(warning) << origin << ": " << unused.size() << " tensor(s) not used by Qwen3, e.g. '" << unused.front()
                     << "'";
  }
  return w;
}

Qwen3Weights random_qwen3_weights(const Qwen3Config& c, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed);
  auto normal = [&](std::vector<int64_t> shape, double std) {
    return at::normal(0.0, std, shape, gen, torch::TensorOptions().dtype(torch::kFloat32));
  };
  auto norm_weight = [&](int64_t n) { return 1.0 + normal({n}, 0.1); };
  Qwen3Weights w;
  w.embed_tokens = normal({c.vocab_size, c.hidden_size}, 0.02);
  w.layers.resize(c.num_hidden_layers);
  for (auto& layer : w.layers) {
    for (const auto& f : layer_fields()) {
      const Shape shape = f.shape(c);
      layer.*f.member = shape.size() == 1 ? norm_weight(shape[0]) : normal(shape, 0.02);
    }
  }
  w.norm = norm_weight(c.hidden_size);
  if (!c.tie_word_embeddings) w.lm_head = normal({c.vocab_size, c.hidden_size}, 0.02);
  return w;
}

}  // namespace elm::model
