// The BERT / XLM-R token classifier against an independent float64 implementation written here
// with plain loops (SPECS.md section 3), layer by layer; position ids; padding; loading errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/half.h"
#include "io/safetensors.h"
#include "model/encoder_weights.h"
#include "model/tiny_classifier.h"
#include "model/token_classifier.h"
#include "support/assertions.h"
#include "support/scratch_dir.h"

namespace elm::model {
namespace {

namespace fs = std::filesystem;
using Matrix = std::vector<std::vector<double>>;  // [T][H]

EncoderConfig small_config(const std::string& type) {
  EncoderConfig c;
  c.model_type = type;
  c.vocab_size = 23;
  c.hidden_size = 8;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 12;
  c.max_position_embeddings = 16;
  c.type_vocab_size = type == "bert" ? 2 : 1;
  c.layer_norm_eps = type == "bert" ? 1e-12 : 1e-5;
  c.pad_token_id = type == "bert" ? 0 : 1;
  c.labels = {"LABEL_0", "LABEL_1"};
  return c;
}

// ---- The reference: float64, element by element ----

double at(const torch::Tensor& t, int64_t i) { return t.to(torch::kFloat64)[i].item<double>(); }

struct Dense {  // a copy of a [rows, cols] weight in float64
  std::vector<std::vector<double>> w;
  std::vector<double> b;
  Dense(const torch::Tensor& weight, const torch::Tensor& bias) {
    auto W = weight.to(torch::kFloat64).contiguous();
    auto B = bias.to(torch::kFloat64).contiguous();
    w.assign(static_cast<size_t>(W.size(0)), std::vector<double>(static_cast<size_t>(W.size(1))));
    for (int64_t r = 0; r < W.size(0); ++r)
      for (int64_t c = 0; c < W.size(1); ++c) w[r][c] = W[r][c].item<double>();
    for (int64_t r = 0; r < B.size(0); ++r) b.push_back(B[r].item<double>());
  }
  std::vector<double> operator()(const std::vector<double>& x) const {
    std::vector<double> y(w.size());
    for (size_t r = 0; r < w.size(); ++r) {
      double s = b[r];
      for (size_t c = 0; c < x.size(); ++c) s += w[r][c] * x[c];
      y[r] = s;
    }
    return y;
  }
};

std::vector<double> layer_norm(const std::vector<double>& x, const torch::Tensor& g, const torch::Tensor& b, double eps) {
  double mean = 0, var = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  for (double v : x) var += (v - mean) * (v - mean);
  var /= static_cast<double>(x.size());  // biased, as LayerNorm
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    y[i] = (x[i] - mean) / std::sqrt(var + eps) * at(g, static_cast<int64_t>(i)) + at(b, static_cast<int64_t>(i));
  }
  return y;
}

// Hidden states after the embeddings and after each layer, for one sequence without padding.
std::vector<Matrix> reference_states(const EncoderConfig& c, const EncoderWeights& w, const std::vector<int64_t>& ids) {
  const size_t T = ids.size(), H = static_cast<size_t>(c.hidden_size);
  const size_t nh = static_cast<size_t>(c.num_attention_heads), hd = H / nh;
  std::vector<Matrix> states;
  Matrix x(T, std::vector<double>(H));
  for (size_t t = 0; t < T; ++t) {
    // BERT: position t; XLM-R: pad + 1 + t (no padding in the sequence).
    const int64_t pos = c.is_xlm_roberta() ? c.pad_token_id + 1 + static_cast<int64_t>(t) : static_cast<int64_t>(t);
    std::vector<double> e(H);
    for (size_t h = 0; h < H; ++h) {
      e[h] = w.word_embeddings[ids[t]][h].item<double>() + w.position_embeddings[pos][h].item<double>() +
             w.token_type_embeddings[0][h].item<double>();
    }
    x[t] = layer_norm(e, w.emb_ln_w, w.emb_ln_b, c.layer_norm_eps);
  }
  states.push_back(x);
  for (const auto& l : w.layers) {
    const Dense q(l.query_w, l.query_b), k(l.key_w, l.key_b), v(l.value_w, l.value_b);
    const Dense o(l.attn_out_w, l.attn_out_b), up(l.inter_w, l.inter_b), down(l.out_w, l.out_b);
    Matrix Q(T), K(T), V(T);
    for (size_t t = 0; t < T; ++t) {
      Q[t] = q(x[t]);
      K[t] = k(x[t]);
      V[t] = v(x[t]);
    }
    Matrix next(T);
    for (size_t t = 0; t < T; ++t) {
      std::vector<double> context(H, 0.0);
      for (size_t head = 0; head < nh; ++head) {
        std::vector<double> score(T);
        double mx = -1e300;
        for (size_t s = 0; s < T; ++s) {
          double d = 0;
          for (size_t i = 0; i < hd; ++i) d += Q[t][head * hd + i] * K[s][head * hd + i];
          score[s] = d / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, score[s]);
        }
        double z = 0;
        for (auto& sc : score) z += (sc = std::exp(sc - mx));
        for (size_t s = 0; s < T; ++s) {
          for (size_t i = 0; i < hd; ++i) context[head * hd + i] += score[s] / z * V[s][head * hd + i];
        }
      }
      std::vector<double> a = o(context);
      for (size_t h = 0; h < H; ++h) a[h] += x[t][h];
      const std::vector<double> x1 = layer_norm(a, l.attn_ln_w, l.attn_ln_b, c.layer_norm_eps);
      std::vector<double> inner = up(x1);
      for (auto& u : inner) u = 0.5 * u * (1.0 + std::erf(u / std::sqrt(2.0)));
      std::vector<double> y = down(inner);
      for (size_t h = 0; h < H; ++h) y[h] += x1[h];
      next[t] = layer_norm(y, l.out_ln_w, l.out_ln_b, c.layer_norm_eps);
    }
    x = next;
    states.push_back(x);
  }
  return states;
}

Matrix reference_logits(const EncoderConfig& c, const EncoderWeights& w, const std::vector<int64_t>& ids) {
  const Matrix last = reference_states(c, w, ids).back();
  const Dense cls(w.classifier_w, w.classifier_b);
  Matrix out;
  for (const auto& row : last) out.push_back(cls(row));
  return out;
}

double max_diff(const torch::Tensor& got, const Matrix& want) {  // got [T, H]
  double m = 0;
  for (size_t t = 0; t < want.size(); ++t)
    for (size_t h = 0; h < want[t].size(); ++h)
      m = std::max(m, std::abs(got[static_cast<int64_t>(t)][static_cast<int64_t>(h)].item<double>() - want[t][h]));
  return m;
}

torch::Tensor ids_tensor(const std::vector<int64_t>& ids) {
  return torch::tensor(ids, torch::kInt64).view({1, static_cast<int64_t>(ids.size())});
}

class EncoderParity : public ::testing::TestWithParam<std::string> {};

TEST_P(EncoderParity, EveryLayerMatchesFloat64Reference) {
  const EncoderConfig c = small_config(GetParam());
  // Spread-out weights so that attention is far from uniform and a wrong scale would show.
  const EncoderWeights w = random_encoder_weights(c, 7, 0.5);
  for (auto& l : const_cast<EncoderWeights&>(w).layers) {
    l.query_w.mul_(20);
    l.key_w.mul_(20);
  }
  const TokenClassifier model(c, w, "test");
  const std::vector<int64_t> ids = {2, 5, 9, 13, 21, 4, 2};
  const auto got = model.hidden_states(ids_tensor(ids));
  const auto want = reference_states(c, w, ids);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_LT(max_diff(got[i][0], want[i]), 2e-5) << "state " << i;
  const auto logits = model.forward(ids_tensor(ids));
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{1, 7, 2}));
  EXPECT_LT(max_diff(logits[0], reference_logits(c, w, ids)), 2e-5);
  // The logits are not trivially equal across positions.
  EXPECT_GT((logits[0][0] - logits[0][3]).abs().max().item<double>(), 1e-3);
}

TEST_P(EncoderParity, PaddingDoesNotChangeTheTokens) {
  const EncoderConfig c = small_config(GetParam());
  const EncoderWeights w = random_encoder_weights(c, 3, 0.5);
  const TokenClassifier model(c, w, "test");
  const std::vector<int64_t> a = {3, 4, 5, 6, 7}, b = {8, 9, 10};
  auto ids = torch::full({2, 5}, c.pad_token_id, torch::kInt64);
  auto mask = torch::zeros({2, 5}, torch::kInt64);
  for (int64_t j = 0; j < 5; ++j) {
    ids[0][j] = a[j];
    mask[0][j] = 1;
  }
  for (int64_t j = 0; j < 3; ++j) {
    ids[1][j] = b[j];
    mask[1][j] = 1;
  }
  const auto logits = model.forward(ids, mask);
  EXPECT_LT(max_diff(logits[0], reference_logits(c, w, a)), 2e-5);
  EXPECT_LT(max_diff(logits[1].slice(0, 0, 3), reference_logits(c, w, b)), 2e-5);
  // Without the mask the padding would be attended to.
  const auto unmasked = model.forward(ids);
  EXPECT_GT((unmasked[1].slice(0, 0, 3) - logits[1].slice(0, 0, 3)).abs().max().item<double>(), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Types, EncoderParity, ::testing::Values("bert", "xlm-roberta"));

TEST(TokenClassifier, PositionIds) {
  const TokenClassifier bert(small_config("bert"), random_encoder_weights(small_config("bert"), 0), "bert");
  const TokenClassifier xlmr(small_config("xlm-roberta"), random_encoder_weights(small_config("xlm-roberta"), 0), "x");
  auto ids = torch::tensor({0, 5, 6, 1, 1, 3, 4, 2, 1, 1}, torch::kInt64).view({2, 5});
  // XLM-R: cumsum(id != 1) * (id != 1) + 1.
  const auto x = xlmr.position_ids(ids);
  const std::vector<int64_t> want_x = {2, 3, 4, 1, 1, 2, 3, 4, 1, 1};
  const std::vector<int64_t> want_b = {0, 1, 2, 3, 4, 0, 1, 2, 3, 4};
  const auto b = bert.position_ids(ids).contiguous();
  for (int64_t i = 0; i < 10; ++i) {
    EXPECT_EQ(x.reshape({-1})[i].item<int64_t>(), want_x[static_cast<size_t>(i)]) << i;
    EXPECT_EQ(b.reshape({-1})[i].item<int64_t>(), want_b[static_cast<size_t>(i)]) << i;
  }
  // A pad id in the middle is a padding position too (HF's rule, whatever the mask says).
  const auto mid = xlmr.position_ids(torch::tensor({0, 1, 7}, torch::kInt64).view({1, 3}));
  EXPECT_EQ(mid[0][1].item<int64_t>(), 1);
  EXPECT_EQ(mid[0][2].item<int64_t>(), 3);
  EXPECT_EQ(xlmr.config().max_tokens(), 14);  // positions 2..15
  EXPECT_EQ(bert.config().max_tokens(), 16);
}

TEST(TokenClassifier, RejectsBadInput) {
  const TokenClassifier m(small_config("bert"), random_encoder_weights(small_config("bert"), 0), "model.safetensors");
  EXPECT_CONTAINS(testing::error_of([&] { m.forward(ids_tensor({1, 23})); }), "token id 23");
  EXPECT_CONTAINS(testing::error_of([&] { m.forward(ids_tensor(std::vector<int64_t>(17, 1))); }), "17 tokens");
  EXPECT_CONTAINS(testing::error_of([&] { m.forward(torch::zeros({3}, torch::kInt64)); }), "[batch, tokens]");
}

void save(const std::string& path, const EncoderConfig& c, const EncoderWeights& w, const std::string& drop = "",
          const std::string& reshape = "", bool bf16 = false) {
  std::vector<torch::Tensor> keep;
  std::vector<io::TensorToWrite> tensors;
  for (const auto& [name, t] : w.named_tensors(c)) {
    if (name == drop) continue;
    torch::Tensor x = name == reshape ? t.reshape({-1}).contiguous() : t.contiguous();
    if (bf16) {
      auto bits = torch::empty(x.sizes(), torch::kInt16);
      auto* dst = reinterpret_cast<uint16_t*>(bits.data_ptr<int16_t>());
      const float* src = x.data_ptr<float>();
      for (int64_t i = 0; i < x.numel(); ++i) dst[i] = io::f32_to_bf16(src[i]);
      x = bits;
    }
    keep.push_back(x);
    tensors.push_back({name, bf16 ? io::DType::BF16 : io::DType::F32,
                       std::vector<int64_t>(x.sizes().begin(), x.sizes().end()), x.data_ptr()});
  }
  io::write_safetensors(path, tensors);
}

TEST(TokenClassifier, LoadsHfLayoutAndNamesBadTensors) {
  for (const std::string type : {"bert", "xlm-roberta"}) {
    const auto dir = testing::scratch_dir("token-classifier", type);
    const EncoderConfig c = small_config(type);
    const EncoderWeights w = random_encoder_weights(c, 11, 0.3);
    std::ofstream(dir / "config.json") << encoder_config_to_json(c);
    const std::string file = (dir / "model.safetensors").string();
    save(file, c, w);
    const TokenClassifier m = TokenClassifier::load(dir.string());
    EXPECT_EQ(m.config().model_type, type);
    EXPECT_EQ(m.config().layer_norm_eps, c.layer_norm_eps);
    const std::vector<int64_t> ids = {2, 7, 11, 3};
    EXPECT_LT(max_diff(m.forward(ids_tensor(ids))[0], reference_logits(c, w, ids)), 2e-5);
    const std::string prefix = type == "bert" ? "bert." : "roberta.";
    const std::string missing = prefix + "encoder.layer.1.output.LayerNorm.bias";
    save(file, c, w, missing);
    std::string err = testing::error_of([&] { TokenClassifier::load(dir.string()); });
    EXPECT_CONTAINS(err, file);
    EXPECT_CONTAINS(err, "'" + missing + "' is missing");
    save(file, c, w, "", "classifier.weight");
    err = testing::error_of([&] { TokenClassifier::load(dir.string()); });
    EXPECT_CONTAINS(err, "'classifier.weight' has shape [16]");
    EXPECT_CONTAINS(err, "[2, 8]");
    // BF16 weights load, converted exactly.
    save(file, c, w, "", "", true);
    const TokenClassifier b = TokenClassifier::load(dir.string());
    const float orig = w.layers[0].inter_w[1][2].item<float>();
    EXPECT_EQ(b.weights().layers[0].inter_w[1][2].item<float>(), io::bf16_to_f32(io::f32_to_bf16(orig)));
  }
}

TEST(EncoderConfig, ReadsHfKeysAndRejectsWhatItCannotRun) {
  const EncoderConfig c = parse_encoder_config(
      R"({"model_type": "xlm-roberta", "vocab_size": 250102, "hidden_size": 1024, "num_hidden_layers": 24,
          "num_attention_heads": 16, "intermediate_size": 4096, "max_position_embeddings": 514, "type_vocab_size": 1,
          "layer_norm_eps": 1e-05, "pad_token_id": 1, "hidden_act": "gelu",
          "id2label": {"0": "LABEL_0", "1": "LABEL_1"}})",
      "config.json");
  EXPECT_TRUE(c.is_xlm_roberta());
  EXPECT_EQ(c.head_dim(), 64);
  EXPECT_EQ(c.max_tokens(), 512);
  EXPECT_EQ(c.num_labels(), 2);
  EXPECT_EQ(c.tensor_prefix(), "roberta.");
  EXPECT_EQ(parse_encoder_config(R"({"model_type": "bert", "num_labels": 3})", "c").num_labels(), 3);
  auto err = [](const std::string& json) { return testing::error_of([&] { parse_encoder_config(json, "x/config.json"); }); };
  EXPECT_CONTAINS(err(R"({"model_type": "gpt2"})"), "model_type 'gpt2'");
  EXPECT_CONTAINS(err(R"({"hidden_size": 8})"), "'model_type' is missing");
  EXPECT_CONTAINS(err(R"({"model_type": "bert", "hidden_act": "relu"})"), "hidden_act 'relu'");
  EXPECT_CONTAINS(err(R"({"model_type": "bert", "hidden_size": 10, "num_attention_heads": 3})"), "multiple");
  EXPECT_CONTAINS(err(R"({"model_type": "bert", "layer_norm_eps": "x"})"), "x/config.json: key 'layer_norm_eps'");
  EXPECT_CONTAINS(err(R"({"model_type": "bert", "position_embedding_type": "relative_key"})"), "relative_key");
  EXPECT_CONTAINS(err(R"({"model_type": "bert", "id2label": {"0": "a", "2": "b"}})"), "id2label");
  EXPECT_CONTAINS(testing::error_of([] { load_encoder_config("/nonexistent/dir"); }), "/nonexistent/dir");
}

TEST(TinyClassifier, WritesALoadableDeterministicModel) {
  for (const std::string arch : {"bert", "xlm-roberta"}) {
    const auto a = testing::scratch_dir("tiny-classifier", arch + "-a");
    const auto b = testing::scratch_dir("tiny-classifier", arch + "-b");
    TinyClassifierOptions o;
    o.arch = arch;
    o.seed = 5;
    write_tiny_classifier(a.string(), o);
    write_tiny_classifier(b.string(), o);
    const TokenClassifier m = TokenClassifier::load(a.string());
    EXPECT_EQ(m.config().max_tokens(), 512);
    EXPECT_EQ(m.config().model_type, arch);
    auto bytes = [](const fs::path& p) {
      std::ifstream in(p, std::ios::binary);
      return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    };
    EXPECT_EQ(bytes(a / "model.safetensors"), bytes(b / "model.safetensors"));
    EXPECT_EQ(bytes(a / "config.json"), bytes(b / "config.json"));
    o.seed = 6;
    write_tiny_classifier(b.string(), o);
    EXPECT_NE(bytes(a / "model.safetensors"), bytes(b / "model.safetensors"));
  }
}

}  // namespace
}  // namespace elm::model
