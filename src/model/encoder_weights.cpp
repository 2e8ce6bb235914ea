#include "model/encoder_weights.h"

#include <set>

#include "core/error.h"
#include "core/logging.h"
#include "io/safetensors.h"

namespace elm::model {
namespace {

using Shape = std::vector<int64_t>;
using L = EncoderLayerWeights;
using W = EncoderWeights;
using C = EncoderConfig;

// One row per tensor: HF suffix, field, shape from config.json. Loading, saving, the expected list
// and random initialisation all walk these tables.
struct LayerField {
  const char* suffix;
  torch::Tensor L::*member;
  Shape (*shape)(const C&);
};
struct TopField {
  const char* name;  // without the "bert." / "roberta." prefix for the encoder's own tensors
  bool prefixed;
  torch::Tensor W::*member;
  Shape (*shape)(const C&);
};

Shape hh(const C& c) { return {c.hidden_size, c.hidden_size}; }
Shape h(const C& c) { return {c.hidden_size}; }

const std::vector<LayerField>& layer_fields() {
  static const std::vector<LayerField> fields = {
      {"attention.self.query.weight", &L::query_w, hh},
      {"attention.self.query.bias", &L::query_b, h},
      {"attention.self.key.weight", &L::key_w, hh},
      {"attention.self.key.bias", &L::key_b, h},
      {"attention.self.value.weight", &L::value_w, hh},
      {"attention.self.value.bias", &L::value_b, h},
      {"attention.output.dense.weight", &L::attn_out_w, hh},
      {"attention.output.dense.bias", &L::attn_out_b, h},
      {"attention.output.LayerNorm.weight", &L::attn_ln_w, h},
      {"attention.output.LayerNorm.bias", &L::attn_ln_b, h},
      {"intermediate.dense.weight", &L::inter_w, [](const C& c) -> Shape { return {c.intermediate_size, c.hidden_size}; }},
      {"intermediate.dense.bias", &L::inter_b, [](const C& c) -> Shape { return {c.intermediate_size}; }},
      {"output.dense.weight", &L::out_w, [](const C& c) -> Shape { return {c.hidden_size, c.intermediate_size}; }},
      {"output.dense.bias", &L::out_b, h},
      {"output.LayerNorm.weight", &L::out_ln_w, h},
      {"output.LayerNorm.bias", &L::out_ln_b, h},
  };
  return fields;
}

const std::vector<TopField>& embedding_fields() {
  static const std::vector<TopField> fields = {
      {"embeddings.word_embeddings.weight", true, &W::word_embeddings,
       [](const C& c) -> Shape { return {c.vocab_size, c.hidden_size}; }},
      {"embeddings.position_embeddings.weight", true, &W::position_embeddings,
       [](const C& c) -> Shape { return {c.max_position_embeddings, c.hidden_size}; }},
      {"embeddings.token_type_embeddings.weight", true, &W::token_type_embeddings,
       [](const C& c) -> Shape { return {c.type_vocab_size, c.hidden_size}; }},
      {"embeddings.LayerNorm.weight", true, &W::emb_ln_w, h},
      {"embeddings.LayerNorm.bias", true, &W::emb_ln_b, h},
  };
  return fields;
}

const std::vector<TopField>& classifier_fields() {
  static const std::vector<TopField> fields = {
      {"classifier.weight", false, &W::classifier_w, [](const C& c) -> Shape { return {c.num_labels(), c.hidden_size}; }},
      {"classifier.bias", false, &W::classifier_b, [](const C& c) -> Shape { return {c.num_labels()}; }},
  };
  return fields;
}

std::string full_name(const C& c, const TopField& f) { return f.prefixed ? c.tensor_prefix() + f.name : f.name; }
std::string layer_name(const C& c, size_t i, const LayerField& f) {
  return c.tensor_prefix() + "encoder.layer." + std::to_string(i) + "." + f.suffix;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

torch::Tensor read_tensor(const io::SafetensorsCheckpoint& ckpt, const std::string& name, const Shape& shape,
                          const std::string& origin) {
  ELM_CHECK(ckpt.contains(name), origin, ": tensor '", name, "' is missing");
  const io::TensorInfo& info = ckpt.info(name);
  ELM_CHECK(info.shape == shape, origin, ": tensor '", name, "' has shape ", shape_str(info.shape),
            " but config.json implies ", shape_str(shape));
  ELM_CHECK(info.dtype == io::DType::BF16 || info.dtype == io::DType::F16 || info.dtype == io::DType::F32, origin,
            ": tensor '", name, "' has dtype ", io::dtype_name(info.dtype), "; expected F32, BF16 or F16");
  auto out = torch::empty(shape, torch::kFloat32);
  ckpt.read_as_f32(name, out.data_ptr<float>());
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::vector<int64_t>>> expected_encoder_tensors(const EncoderConfig& c) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  for (const auto& f : embedding_fields()) out.push_back({full_name(c, f), f.shape(c)});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    for (const auto& f : layer_fields()) out.push_back({layer_name(c, static_cast<size_t>(i), f), f.shape(c)});
  }
  for (const auto& f : classifier_fields()) out.push_back({full_name(c, f), f.shape(c)});
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> EncoderWeights::named_tensors(const EncoderConfig& c) const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& f : embedding_fields()) out.emplace_back(full_name(c, f), this->*f.member);
  for (size_t i = 0; i < layers.size(); ++i) {
    for (const auto& f : layer_fields()) out.emplace_back(layer_name(c, i, f), layers[i].*f.member);
  }
  for (const auto& f : classifier_fields()) out.emplace_back(full_name(c, f), this->*f.member);
  return out;
}

EncoderWeights load_encoder_weights(const io::SafetensorsCheckpoint& ckpt, const EncoderConfig& c,
                                    const std::string& origin) {
  torch::NoGradGuard no_grad;
  EncoderWeights w;
  std::set<std::string> used;
  auto load = [&](const std::string& name, const Shape& shape) {
    used.insert(name);
    return read_tensor(ckpt, name, shape, origin);
  };
  for (const auto& f : embedding_fields()) w.*f.member = load(full_name(c, f), f.shape(c));
  w.layers.resize(static_cast<size_t>(c.num_hidden_layers));
  for (size_t i = 0; i < w.layers.size(); ++i) {
    for (const auto& f : layer_fields()) w.layers[i].*f.member = load(layer_name(c, i, f), f.shape(c));
  }
  for (const auto& f : classifier_fields()) w.*f.member = load(full_name(c, f), f.shape(c));
  std::vector<std::string> unused;
  for (const auto& name : ckpt.names()) {
    if (!used.count(name)) unused.push_back(name);
  }
  if (!unused.empty()) {
    ELM_LOG(debug) << origin << ": " << unused.size() << " tensor(s) not used by the token classifier, e.g. '"
                   << unused.front() << "'";
  }
  return w;
}

EncoderWeights random_encoder_weights(const EncoderConfig& c, uint64_t seed, double classifier_std) {
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed);
  auto normal = [&](const Shape& shape, double std) {
    return at::normal(0.0, std, shape, gen, torch::TensorOptions().dtype(torch::kFloat32));
  };
  // Norm weights 1 + noise and small non-zero biases, so a test notices a missing or swapped one.
  auto init = [&](const char* name, const Shape& shape, double matrix_std) {
    const std::string n(name);
    if (shape.size() == 2) return normal(shape, matrix_std);
    if (n.find("LayerNorm.weight") != std::string::npos) return 1.0 + normal(shape, 0.1);
    return normal(shape, 0.02);
  };
  EncoderWeights w;
  for (const auto& f : embedding_fields()) w.*f.member = init(f.name, f.shape(c), 0.02);
  w.layers.resize(static_cast<size_t>(c.num_hidden_layers));
  for (auto& layer : w.layers) {
    for (const auto& f : layer_fields()) layer.*f.member = init(f.suffix, f.shape(c), 0.02);
  }
  for (const auto& f : classifier_fields()) w.*f.member = init(f.name, f.shape(c), classifier_std);
  // HF zeroes the padding row of the word embedding (padding_idx).
  w.word_embeddings[c.pad_token_id].zero_();
  return w;
}

}  // namespace elm::model
