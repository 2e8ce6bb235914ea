#include "memory/explicit_lm.h"

#include "core/config.h"
#include "core/error.h"
#include "core/logging.h"
#include "memory/losses.h"
#include "memory/projection.h"

namespace elm::memory {

ExplicitLM::ExplicitLM(std::shared_ptr<const model::Qwen3Model> backbone, std::shared_ptr<const BankReader> bank,
                       MemoryConfig config, uint64_t seed)
    : backbone_(std::move(backbone)), bank_(std::move(bank)), config_(std::move(config)) {
  ELM_CHECK(backbone_ != nullptr, "ExplicitLM: no backbone");
  const auto& bc = backbone_->config();
  ELM_CHECK(config_.hidden_size == bc.hidden_size, "ExplicitLM: memory hidden size ", config_.hidden_size,
            " != backbone hidden size ", bc.hidden_size);
  config_.validate();
  for (int64_t l : config_.layers) {
    ELM_CHECK(l >= 0 && l < bc.num_hidden_layers, "memory.layers: layer ", l, " does not exist (the backbone has ",
              bc.num_hidden_layers, " layers)");
  }
  set_bank(bank_);
  root_ = std::make_shared<torch::nn::Module>("ExplicitLM");
  auto memory = root_->register_module("memory", std::make_shared<torch::nn::Module>("Memory"));
  auto layers = memory->register_module("layers", std::make_shared<torch::nn::Module>("MemoryLayers"));
  for (int64_t l : config_.layers) {
    torch::Tensor keys;
    if (!config_.keys_path.empty()) keys = load_router_keys(config_.keys_path, l, config_.knowledge_num, config_.knowledge_dim);
    auto layer = MemoryLayer(config_, l, make_generator(seed + static_cast<uint64_t>(l)), keys);
    layers->register_module(std::to_string(l), layer.ptr());
    layers_.emplace(l, layer);
  }
  ELM_LOG(info) << "ExplicitLM: memory after " << config_.layers.size() << " of " << bc.num_hidden_layers
                << " decoder layers, " << trainable_parameter_count() << " trainable parameters (backbone and bank frozen)";
}

ExplicitLM ExplicitLM::from_config(const Config& config, std::shared_ptr<const model::Qwen3Model> backbone,
                                   std::shared_ptr<const BankReader> bank) {
  ELM_CHECK(backbone != nullptr, "ExplicitLM: no backbone");
  const auto& bc = backbone->config();
  MemoryConfig mc = MemoryConfig::from_config(config, bc.hidden_size, bc.num_hidden_layers, bc.rms_norm_eps);
  ExplicitLM lm(std::move(backbone), std::move(bank), std::move(mc), static_cast<uint64_t>(config.get_int("runtime.seed")));
  lm.set_selection_seed(static_cast<uint64_t>(config.get_int("runtime.seed")) + 1000003ULL);
  return lm;
}

void ExplicitLM::set_bank(std::shared_ptr<const BankReader> bank) {
  ELM_CHECK(bank != nullptr, "ExplicitLM: no bank reader");
  ELM_CHECK(bank->num_entries() == config_.knowledge_num, "ExplicitLM: the bank has ", bank->num_entries(),
            " entries but model.knowledge_num = ", config_.knowledge_num);
  ELM_CHECK(bank->entry_length() == config_.knowledge_length, "ExplicitLM: bank entries hold ", bank->entry_length(),
            " tokens but model.knowledge_length = ", config_.knowledge_length);
  bank_ = std::move(bank);
}

void ExplicitLM::set_selection_seed(uint64_t seed) { selection_generator_ = make_generator(seed); }

MemoryLayer ExplicitLM::layer(int64_t decoder_layer) const {
  auto it = layers_.find(decoder_layer);
  ELM_CHECK(it != layers_.end(), "ExplicitLM: decoder layer ", decoder_layer, " has no memory layer");
  return it->second;
}

ExplicitLMCache ExplicitLM::new_cache(int64_t batch, int64_t capacity) const {
  return ExplicitLMCache(backbone_->new_cache(batch, capacity));
}

std::vector<std::pair<std::string, torch::Tensor>> ExplicitLM::named_trainable_parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : root_->named_parameters(/*recurse=*/true)) {
    if (item.value().requires_grad()) out.emplace_back(item.key(), item.value());
  }
  return out;
}

std::vector<torch::Tensor> ExplicitLM::trainable_parameters() const {
  std::vector<torch::Tensor> out;
  for (auto& item : named_trainable_parameters()) out.push_back(item.second);
  return out;
}

int64_t ExplicitLM::trainable_parameter_count() const {
  int64_t n = 0;
  for (const auto& item : named_trainable_parameters()) n += item.second.numel();
  return n;
}

std::vector<std::pair<std::string, torch::Tensor>> ExplicitLM::named_state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : root_->named_parameters(true)) out.emplace_back(item.key(), item.value());
  for (const auto& item : root_->named_buffers(true)) out.emplace_back(item.key(), item.value());
  return out;
}

MemoryStepOptions ExplicitLM::step_options(const ExplicitForwardOptions& options) const {
  MemoryStepOptions step;
  step.force_zero_alpha = options.force_zero_alpha || force_zero_alpha_;
  step.generator = selection_generator_;
  step.row_seeds = options.row_seeds;
  return step;
}

torch::Tensor ExplicitLM::apply_memory(int64_t index, const torch::Tensor& h, const model::AttentionContext& ctx,
                                       const ExplicitForwardOptions& options, const MemoryStepOptions& step,
                                       std::map<int64_t, PoolState>* next_pooling,
                                       std::vector<MemoryLayerOutput>* layers) {
  auto it = layers_.find(index);
  if (it == layers_.end()) return h;
  MemoryLayerImpl& layer = *it->second;
  auto h_mem = layer.normalize(h);
  const PoolState* past = nullptr;
  if (options.cache) {
    auto p = options.cache->pooling_.find(index);
    if (p != options.cache->pooling_.end()) past = &p->second;
  }
  PoolState next;
  auto query = pool_queries(h_mem, ctx.valid, config_.pooling, past, options.cache ? &next : nullptr,
                            layer.pool_scores(h_mem));
  if (options.cache && next_pooling) (*next_pooling)[index] = next;
  MemoryLayerOutput out = layer.forward(h, h_mem, query, ctx.valid, *bank_, backbone_->weights().embed_tokens, step);
  auto hidden = out.hidden;
  out.hidden = torch::Tensor();  // the caller sees the final hidden state; do not keep every layer's
  layers->push_back(std::move(out));
  return hidden;
}

torch::Tensor ExplicitLM::forward_layers(const torch::Tensor& hidden, const model::AttentionContext& ctx, int64_t first,
                                         int64_t end, const ExplicitForwardOptions& options,
                                         std::vector<MemoryLayerOutput>* layers) {
  const int64_t L = backbone_->config().num_hidden_layers;
  ELM_CHECK(0 <= first && first < end && end <= L, "ExplicitLM: layers [", first, ", ", end, ") are not a range of the ",
            L, " decoder layers");
  ELM_CHECK(options.cache == nullptr, "ExplicitLM::forward_layers runs without a KV cache");
  ELM_CHECK(options.row_seeds.empty() || static_cast<int64_t>(options.row_seeds.size()) == hidden.size(0),
            "ExplicitLM: ", options.row_seeds.size(), " row seeds for a batch of ", hidden.size(0), " rows");
  const MemoryStepOptions step = step_options(options);
  torch::Tensor h = hidden;
  for (int64_t i = first; i < end; ++i) {
    h = backbone_->decoder_layer(i, h, ctx);
    h = apply_memory(i, h, ctx, options, step, nullptr, layers);
  }
  return h;
}

ExplicitLMOutput ExplicitLM::forward(const torch::Tensor& ids, const ExplicitForwardOptions& options) {
  ELM_CHECK(options.row_seeds.empty() || (ids.dim() == 2 && static_cast<int64_t>(options.row_seeds.size()) == ids.size(0)),
            "ExplicitLM: ", options.row_seeds.size(), " row seeds for a batch of ", ids.dim() == 2 ? ids.size(0) : -1,
            " rows (input_ids ", ids.sizes(), ")");
  ExplicitLMOutput result;
  std::map<int64_t, PoolState> next_pooling;
  const MemoryStepOptions step = step_options(options);

  model::ForwardOptions fo;
  fo.attention_mask = options.attention_mask;
  fo.cache = options.cache ? &options.cache->kv_ : nullptr;
  fo.logits = options.logits;
  fo.after_layer = [&](int64_t index, const torch::Tensor& h, const model::AttentionContext& ctx) -> torch::Tensor {
    return apply_memory(index, h, ctx, options, step, &next_pooling, &result.layers);
  };
  model::ForwardResult fr = backbone_->forward(ids, fo);
  if (options.cache) {
    for (auto& [index, state] : next_pooling) options.cache->pooling_[index] = state;
  }
  result.logits = fr.logits;
  result.hidden = fr.hidden;
  std::vector<torch::Tensor> sim, div;
  for (const auto& l : result.layers) {
    sim.push_back(l.similarity_loss);
    div.push_back(l.diversity_loss);
  }
  result.similarity_loss = mean_over_layers(sim);
  result.diversity_loss = mean_over_layers(div);
  return result;
}

}  // namespace elm::memory
