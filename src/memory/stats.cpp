#include "memory/stats.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace elm::memory {

RetrievalStats::RetrievalStats(std::vector<int64_t> layers, int64_t num_entries) : num_entries_(num_entries) {
  ELM_CHECK(num_entries > 0, "RetrievalStats: the bank must have entries");
  for (int64_t l : layers) layers_[l].counts = torch::zeros({num_entries}, torch::kInt64);
}

RetrievalStats::Acc& RetrievalStats::acc(int64_t layer) {
  auto it = layers_.find(layer);
  ELM_CHECK(it != layers_.end(), "RetrievalStats: layer ", layer, " is not tracked");
  return it->second;
}
const RetrievalStats::Acc& RetrievalStats::acc(int64_t layer) const {
  auto it = layers_.find(layer);
  ELM_CHECK(it != layers_.end(), "RetrievalStats: layer ", layer, " is not tracked");
  return it->second;
}

void RetrievalStats::add(int64_t layer, const torch::Tensor& selected, const torch::Tensor& alpha,
                         const torch::Tensor& token_valid) {
  torch::NoGradGuard no_grad;
  Acc& a = acc(layer);
  auto sel = selected.detach().to(torch::kCPU, torch::kInt64);
  auto al = alpha.detach().to(torch::kCPU, torch::kDouble);
  ELM_CHECK(sel.dim() == al.dim() + 1, "RetrievalStats: selected indices ", sel.sizes(), " must be alpha's shape ",
            al.sizes(), " plus [k]");
  auto tv = token_valid.defined() ? token_valid.to(torch::kCPU, torch::kBool) : torch::ones(al.sizes(), torch::kBool);
  auto ids = sel.masked_select(tv.unsqueeze(-1).expand(sel.sizes()) & sel.ge(0));
  if (ids.numel() > 0) {
    ELM_CHECK(ids.max().item<int64_t>() < num_entries_, "RetrievalStats: entry ", ids.max().item<int64_t>(),
              " is outside the bank of ", num_entries_);
    a.counts += torch::bincount(ids, {}, num_entries_);
  }
  a.tokens += tv.sum().item<int64_t>();
  a.alpha_sum += al.masked_select(tv).sum().item<double>();
}

void RetrievalStats::add(const std::vector<MemoryLayerOutput>& layers) {
  for (const auto& l : layers) add(l.layer, l.selected_indices, l.alpha, l.token_valid);
}

const torch::Tensor& RetrievalStats::counts(int64_t layer) const { return acc(layer).counts; }

void RetrievalStats::reset() {
  for (auto& [l, a] : layers_) {
    a.counts.zero_();
    a.tokens = 0;
    a.alpha_sum = 0;
  }
}

void RetrievalStats::sum_over_ranks(const std::function<void(torch::Tensor&)>& sum) {
  std::vector<torch::Tensor> counts;
  std::vector<double> scalars;
  for (auto& [l, a] : layers_) {
    counts.push_back(a.counts);
    scalars.push_back(static_cast<double>(a.tokens));
    scalars.push_back(a.alpha_sum);
  }
  if (counts.empty()) return;
  auto packed = torch::stack(counts);  // [layers, N] int64
  auto values = torch::tensor(scalars, torch::kFloat64);
  sum(packed);
  sum(values);
  int64_t i = 0;
  for (auto& [l, a] : layers_) {
    a.counts = packed[i].clone();
    a.tokens = static_cast<int64_t>(values[2 * i].item<double>());
    a.alpha_sum = values[2 * i + 1].item<double>();
    ++i;
  }
}

std::vector<LayerRetrievalStats> RetrievalStats::summary(int64_t hot_k) const {
  std::vector<LayerRetrievalStats> out;
  for (const auto& [layer, a] : layers_) {
    LayerRetrievalStats s;
    s.layer = layer;
    s.tokens = a.tokens;
    s.selections = a.counts.sum().item<int64_t>();
    const int64_t used = a.counts.gt(0).sum().item<int64_t>();
    s.coverage = static_cast<double>(used) / static_cast<double>(num_entries_);
    s.dead_entries = num_entries_ - used;
    if (s.selections > 0) {
      auto p = a.counts.masked_select(a.counts.gt(0)).to(torch::kDouble) / static_cast<double>(s.selections);
      s.entropy = -(p * p.log()).sum().item<double>();
      s.normalized_entropy = num_entries_ > 1 ? s.entropy / std::log(static_cast<double>(num_entries_)) : 0.0;
    }
    s.mean_alpha = a.tokens > 0 ? a.alpha_sum / static_cast<double>(a.tokens) : 0.0;
    const int64_t k = std::min<int64_t>(hot_k, used);
    if (k > 0) {
      // Stable order for equal counts: the lower entry first.
      auto order = torch::argsort(a.counts.neg() * (num_entries_ + 1) + torch::arange(num_entries_, torch::kInt64));
      for (int64_t i = 0; i < k; ++i) {
        const int64_t e = order[i].item<int64_t>();
        s.hot_entries.emplace_back(e, a.counts[e].item<int64_t>());
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::string RetrievalStats::to_jsonl(int64_t hot_k) const {
  std::ostringstream o;
  o.precision(6);
  for (const auto& s : summary(hot_k)) {
    o << "{\"layer\": " << s.layer << ", \"tokens\": " << s.tokens << ", \"selections\": " << s.selections
      << ", \"coverage\": " << s.coverage << ", \"dead_entries\": " << s.dead_entries << ", \"entropy\": " << s.entropy
      << ", \"normalized_entropy\": " << s.normalized_entropy << ", \"mean_alpha\": " << s.mean_alpha
      << ", \"hot_entries\": [";
    for (size_t i = 0; i < s.hot_entries.size(); ++i) {
      o << (i ? ", " : "") << "[" << s.hot_entries[i].first << ", " << s.hot_entries[i].second << "]";
    }
    o << "]}\n";
  }
  return o.str();
}

}  // namespace elm::memory
