#include "memory/router.h"

#include "core/error.h"
#include "io/safetensors.h"
#include "memory/memory_config.h"

namespace elm::memory {

namespace F = torch::nn::functional;

RouterBlockImpl::RouterBlockImpl(int64_t dim, int64_t rank, double dropout, at::Generator gen) : dropout_(dropout) {
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  fc1 = register_module("fc1", Projection(dim, 2 * dim, rank, true, gen));
  fc2 = register_module("fc2", Projection(2 * dim, dim, rank, true, gen));
}

torch::Tensor RouterBlockImpl::forward(const torch::Tensor& x, const RowRandom* random, uint64_t stream) {
  auto y = fc2->forward(torch::gelu(fc1->forward(norm->forward(x))));
  if (random) return x + random->dropout(y, dropout_, is_training(), stream);
  return x + torch::dropout(y, dropout_, is_training());
}

MemoryGateImpl::MemoryGateImpl(const RouterOptions& o, at::Generator gen) : options_(o) {
  grid_ = exact_sqrt(o.knowledge_num);
  ELM_CHECK(grid_ > 0, "router: knowledge_num ", o.knowledge_num, " is not a perfect square");
  ELM_CHECK(o.knowledge_dim >= 2 && o.knowledge_dim % 2 == 0, "router: knowledge_dim ", o.knowledge_dim, " must be even");
  ELM_CHECK(o.num_candidates_internal >= 1 && o.num_candidates_internal <= grid_, "router: num_candidates_internal ",
            o.num_candidates_internal, " must be in [1, sqrt(N) = ", grid_, "]");
  ELM_CHECK(o.num_candidates >= 1 && o.num_candidates <= o.num_candidates_internal * o.num_candidates_internal,
            "router: num_candidates ", o.num_candidates, " exceeds num_candidates_internal^2");
  const int64_t d = o.hidden_size, half = o.knowledge_dim / 2;
  query_proj = register_module("query_proj", Projection(d, d, o.rank, true, gen));
  blocks = register_module("blocks", torch::nn::ModuleList());
  const int n_blocks = o.rank > 0 ? 1 : 2;
  for (int i = 0; i < n_blocks; ++i) blocks->push_back(RouterBlock(d, o.rank, o.dropout, gen));
  out_norm = register_module("out_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  out_proj = register_module("out_proj", Projection(d, o.knowledge_dim, o.rank, true, gen));
  keys_frozen_ = o.frozen_keys.defined();
  if (keys_frozen_) {
    ELM_CHECK(o.frozen_keys.dim() == 3 && o.frozen_keys.size(0) == 2 && o.frozen_keys.size(1) == grid_ &&
                  o.frozen_keys.size(2) == half,
              "router: keys must be [2, ", grid_, ", ", half, "], got ", o.frozen_keys.sizes());
    keys = register_buffer("keys", o.frozen_keys.to(torch::kFloat32).contiguous().clone());
  } else {
    torch::NoGradGuard no_grad;
    keys = register_parameter("keys", torch::empty({2, grid_, half}, torch::kFloat32).normal_(0.0, 1.0, gen));
  }
  logit_scale = register_parameter("logit_scale", torch::full({}, kInitialLogitScale, torch::kFloat32));
}

torch::Tensor MemoryGateImpl::scale() const { return logit_scale.exp().clamp_max(kMaxScale); }

torch::Tensor MemoryGateImpl::normalized_keys() const {
  return F::normalize(keys, F::NormalizeFuncOptions().p(2).dim(-1));
}

torch::Tensor MemoryGateImpl::query(const torch::Tensor& x, const RowRandom* random) {
  auto q = query_proj->forward(x);
  for (size_t i = 0; i < blocks->size(); ++i) {
    q = blocks->at<RouterBlockImpl>(i).forward(q, random, row_stream::router_dropout(static_cast<int64_t>(i)));
  }
  return out_proj->forward(out_norm->forward(q));
}

RouterOutput product_key_search(const torch::Tensor& q, const torch::Tensor& keys, const torch::Tensor& scale,
                                int64_t k, int64_t num_candidates) {
  ELM_CHECK(keys.dim() == 3 && keys.size(0) == 2, "product_key_search: keys must be [2, n, half], got ", keys.sizes());
  const int64_t n = keys.size(1), half = keys.size(2);
  ELM_CHECK(q.dim() >= 1 && q.size(-1) == 2 * half, "product_key_search: queries must be [..., ", 2 * half, "], got ",
            q.sizes());
  ELM_CHECK(k >= 1 && k <= n && num_candidates >= 1 && num_candidates <= k * k, "product_key_search: ",
            num_candidates, " candidates from the top ", k, " of ", n, " keys per half is impossible");
  auto lead = q.sizes().vec();
  lead.pop_back();
  auto flat = q.reshape({-1, 2 * half});
  auto norm_opts = F::NormalizeFuncOptions().p(2).dim(-1);
  auto q1 = F::normalize(flat.narrow(-1, 0, half), norm_opts);
  auto q2 = F::normalize(flat.narrow(-1, half, half), norm_opts);
  auto keys_n = F::normalize(keys, norm_opts);
  auto l1 = scale * torch::matmul(q1, keys_n[0].t());  // [Q, n]
  auto l2 = scale * torch::matmul(q2, keys_n[1].t());
  auto top1 = l1.topk(k, -1);
  auto top2 = l2.topk(k, -1);
  auto sums = (std::get<0>(top1).unsqueeze(-1) + std::get<0>(top2).unsqueeze(-2)).reshape({-1, k * k});
  auto cells = (std::get<1>(top1).unsqueeze(-1) * n + std::get<1>(top2).unsqueeze(-2)).reshape({-1, k * k});
  auto best = sums.topk(num_candidates, -1);
  RouterOutput out;
  auto c_shape = lead;
  c_shape.push_back(num_candidates);
  auto h_shape = lead;
  h_shape.push_back(n);
  out.logits = std::get<0>(best).reshape(c_shape);
  out.indices = cells.gather(-1, std::get<1>(best)).reshape(c_shape);
  out.scores = torch::softmax(out.logits, -1);
  out.half_logits = {l1.reshape(h_shape), l2.reshape(h_shape)};
  return out;
}

RouterOutput MemoryGateImpl::forward(const torch::Tensor& x, const RowRandom* random) {
  ELM_CHECK(x.dim() >= 1 && x.size(-1) == options_.hidden_size, "router: queries must be [..., ",
            options_.hidden_size, "], got ", x.sizes());
  return product_key_search(query(x, random), keys, scale(), options_.num_candidates_internal, options_.num_candidates);
}

torch::Tensor load_router_keys(const std::string& path, int64_t layer, int64_t knowledge_num, int64_t knowledge_dim) {
  const int64_t n = exact_sqrt(knowledge_num);
  ELM_CHECK(n > 0, "model.knowledge_num = ", knowledge_num, " must be a perfect square");
  auto checkpoint = io::SafetensorsCheckpoint::open(path);
  const std::string per_layer = "memory.layers." + std::to_string(layer) + ".router.keys";
  std::string name;
  if (checkpoint.contains(per_layer)) {
    name = per_layer;
  } else if (checkpoint.contains("keys")) {
    name = "keys";
  } else {
    fail("router keys file ", path, " (model.keys_path) holds neither '", per_layer, "' nor 'keys'");
  }
  const auto& info = checkpoint.info(name);
  const std::vector<int64_t> expected = {2, n, knowledge_dim / 2};
  ELM_CHECK(info.shape == expected, "router keys '", name, "' in ", path, " have shape ",
            torch::IntArrayRef(info.shape), ", expected [2, ", n, ", ", knowledge_dim / 2,
            "] (2 halves, sqrt(model.knowledge_num), model.knowledge_dim / 2)");
  auto out = torch::empty(expected, torch::kFloat32);
  checkpoint.read_as_f32(name, out.data_ptr<float>());
  return out;
}

}  // namespace elm::memory
