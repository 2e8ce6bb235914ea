#pragma once
// ExplicitLM: a frozen Qwen3 backbone (shared, not copied) plus a memory layer after each decoder
// layer listed in memory.layers, reading a bank through a BankReader (ARCHITECTURE 3).
//
//   auto lm = ExplicitLM::from_config(cfg, backbone, bank);
//   auto out = lm.forward(ids);                 // out.logits, out.layers[i].alpha, ...
//   auto cache = lm.new_cache(batch, capacity); // KV cache + query-pooling state
//
// Only the memory components train; their parameters are named "memory.layers.<i>.<module>..."
// (stable: checkpoint and safetensors names). Router keys loaded from model.keys_path are buffers
// (frozen) and not among the trainable parameters.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "memory/bank_reader.h"
#include "memory/memory_config.h"
#include "memory/memory_layer.h"
#include "memory/pooling.h"
#include "model/kv_cache.h"
#include "model/qwen3_model.h"

namespace elm {
class Config;
}

namespace elm::memory {

// The state incremental decoding carries between forward calls: the backbone's KV cache and, per
// memory layer, the running sum and count of the query pooling.
class ExplicitLMCache {
 public:
  explicit ExplicitLMCache(model::KVCache kv) : kv_(std::move(kv)) {}
  model::KVCache& kv() { return kv_; }
  const model::KVCache& kv() const { return kv_; }
  int64_t length() const { return kv_.length(); }
  const std::map<int64_t, PoolState>& pooling() const { return pooling_; }
  void reset() {
    kv_.reset();
    pooling_.clear();
  }

 private:
  friend class ExplicitLM;
  model::KVCache kv_;
  std::map<int64_t, PoolState> pooling_;  // decoder layer -> totals so far
};

struct ExplicitForwardOptions {
  torch::Tensor attention_mask;  // [B, T] (1 = token); undefined = all tokens
  ExplicitLMCache* cache = nullptr;
  model::LogitsMode logits = model::LogitsMode::kAll;
  bool force_zero_alpha = false;  // alpha = 0 in every memory layer for this call (also see set_force_zero_alpha)
  // One seed per batch row (size B, else an elm::Error). Empty: training noise comes from the
  // selection generator (set_selection_seed) and torch::dropout. Set: every random draw of the
  // memory layers in training (Gumbel noise, router and fusion dropout) comes from per-row streams
  // (row_random.h), so a row's noise is the same in any batch, at any position, with any padding:
  // data-parallel ranks reproduce one process. Derive a row's seed from its example and the step.
  std::vector<uint64_t> row_seeds;
};

struct ExplicitLMOutput {
  torch::Tensor logits;                   // as Qwen3Model::forward for the logits mode
  torch::Tensor hidden;                   // [B, T, H] after the final norm
  std::vector<MemoryLayerOutput> layers;  // one per memory layer, in layer order
  torch::Tensor similarity_loss;          // mean over memory layers of -mean(selected cosine)
  torch::Tensor diversity_loss;           // mean over memory layers
};

class ExplicitLM {
 public:
  // Memory layers are initialised deterministically from `seed` (layer i uses seed + i).
  ExplicitLM(std::shared_ptr<const model::Qwen3Model> backbone, std::shared_ptr<const BankReader> bank,
             MemoryConfig config, uint64_t seed = 0);
  // model.* / memory.* keys; the seed is runtime.seed; keys come from model.keys_path when set.
  static ExplicitLM from_config(const Config& config, std::shared_ptr<const model::Qwen3Model> backbone,
                                std::shared_ptr<const BankReader> bank);

  ExplicitLMOutput forward(const torch::Tensor& input_ids, const ExplicitForwardOptions& options = {});
  // One pipeline stage's share of forward(): decoder layers [first, end), each followed by its
  // memory layer, on `hidden` ([B, T, H]: backbone().embed(ids) when first = 0, else the previous
  // stage's output) under `ctx` (backbone().make_context(ids, mask, nullptr)). No KV cache.
  // Returns the hidden state after layer end - 1 (not final-normed: backbone().final_norm is the
  // last stage's); appends the memory layers' outputs to *layers in layer order. Running every
  // stage in turn computes what forward() does.
  torch::Tensor forward_layers(const torch::Tensor& hidden, const model::AttentionContext& ctx, int64_t first,
                               int64_t end, const ExplicitForwardOptions& options,
                               std::vector<MemoryLayerOutput>* layers);
  ExplicitLMCache new_cache(int64_t batch, int64_t capacity) const;

  // The module tree whose only child is "memory" (for optimisers, .to(device), train/eval).
  torch::nn::Module& module() { return *root_; }
  // Parameters that train (requires_grad), named "memory.layers.<i>...", in a stable order.
  std::vector<std::pair<std::string, torch::Tensor>> named_trainable_parameters() const;
  std::vector<torch::Tensor> trainable_parameters() const;
  int64_t trainable_parameter_count() const;
  // Every memory tensor (parameters and buffers such as frozen keys) by name, for checkpoints.
  std::vector<std::pair<std::string, torch::Tensor>> named_state() const;

  const std::vector<int64_t>& memory_layers() const { return config_.layers; }
  MemoryLayer layer(int64_t decoder_layer) const;  // throws when that layer has no memory
  const MemoryConfig& config() const { return config_; }
  const model::Qwen3Model& backbone() const { return *backbone_; }
  const BankReader& bank() const { return *bank_; }
  std::shared_ptr<const BankReader> bank_ptr() const { return bank_; }
  void set_bank(std::shared_ptr<const BankReader> bank);

  void train(bool on = true) { root_->train(on); }
  void eval() { root_->eval(); }
  bool is_training() const { return root_->is_training(); }
  void set_force_zero_alpha(bool on) { force_zero_alpha_ = on; }
  bool force_zero_alpha() const { return force_zero_alpha_; }
  // Seeds the generator of the training selection's Gumbel noise (unused when a forward call
  // passes row_seeds).
  void set_selection_seed(uint64_t seed);

 private:
  MemoryStepOptions step_options(const ExplicitForwardOptions& options) const;
  // The memory layer after decoder layer `index` (h unchanged when it has none). With a cache, the
  // pooling state after this call goes to *next_pooling.
  torch::Tensor apply_memory(int64_t index, const torch::Tensor& h, const model::AttentionContext& ctx,
                             const ExplicitForwardOptions& options, const MemoryStepOptions& step,
                             std::map<int64_t, PoolState>* next_pooling, std::vector<MemoryLayerOutput>* layers);

  std::shared_ptr<const model::Qwen3Model> backbone_;
  std::shared_ptr<const BankReader> bank_;
  MemoryConfig config_;
  std::shared_ptr<torch::nn::Module> root_;
  std::map<int64_t, MemoryLayer> layers_;
  bool force_zero_alpha_ = false;
  c10::optional<at::Generator> selection_generator_;
};

}  // namespace elm::memory
