#include "train/evaluation.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/left_padding.h"
#include "train/data_batch.h"
#include "train/step_losses.h"

namespace elm::train {

LmEval evaluate_lm(memory::ExplicitLM* lm, const model::Qwen3Model& backbone, const Dataset& data,
                   int64_t batch_size, int64_t first, int64_t end, int32_t pad_id) {
  ELM_CHECK(batch_size >= 1, "evaluate_lm: batch size must be >= 1");
  torch::NoGradGuard no_grad;
  const bool was_training = lm && lm->is_training();
  if (lm) lm->eval();
  const int64_t n = std::min(end, data.size());
  LmEval out;
  double loss_sum = 0;
  for (int64_t begin = std::max<int64_t>(0, first); begin < n; begin += batch_size) {
    std::vector<int64_t> idx;
    for (int64_t i = begin; i < std::min(n, begin + batch_size); ++i) idx.push_back(i);
    Batch b = collate(data, idx, pad_id);
    torch::Tensor hidden;
    if (lm) {
      memory::ExplicitForwardOptions fo;
      fo.attention_mask = b.attention_mask;
      fo.logits = model::LogitsMode::kNone;
      hidden = lm->forward(b.input_ids, fo).hidden;
    } else {
      model::ForwardOptions fo;
      fo.attention_mask = b.attention_mask;
      fo.logits = model::LogitsMode::kNone;
      hidden = backbone.forward(b.input_ids, fo).hidden;
    }
    int64_t count = 0;
    auto loss = masked_lm_loss(backbone, hidden, b.targets, &count);
    loss_sum += loss.item<double>() * static_cast<double>(count);
    out.tokens += count;
    out.examples += b.size();
  }
  if (lm && was_training) lm->train();
  if (out.tokens > 0) {
    out.loss = loss_sum / static_cast<double>(out.tokens);
    out.perplexity = std::exp(out.loss);
  }
  return out;
}

QaEval evaluate_qa(memory::ExplicitLM* lm, const model::Qwen3Model& backbone, const text::Tokenizer& tokenizer,
                   const std::vector<QaItem>& items, const QaEvalOptions& options, memory::RetrievalStats* stats) {
  ELM_CHECK(options.batch_size >= 1 && options.max_new_tokens >= 1 && options.recall_k >= 1,
            "evaluate_qa: batch size, max_new_tokens and recall_k must be >= 1");
  torch::NoGradGuard no_grad;
  const bool was_training = lm && lm->is_training();
  if (lm) lm->eval();
  const int64_t pad = lm ? lm->bank().pad_id() : 0;
  QaEval out;
  double recall_sum = 0, hit_sum = 0, alpha_sum = 0;
  int64_t targeted = 0, alpha_rows = 0;
  for (size_t begin = 0; begin < items.size(); begin += static_cast<size_t>(options.batch_size)) {
    const size_t end = std::min(items.size(), begin + static_cast<size_t>(options.batch_size));
    std::vector<std::vector<int32_t>> prompts;
    for (size_t i = begin; i < end; ++i) {
      prompts.push_back(tokenizer.encode(items[i].prompt));
      ELM_CHECK(!prompts.back().empty(), "QA item ", i, ": empty prompt");
    }
    auto [ids, mask] = model::left_padded(prompts, pad);
    const int64_t B = ids.size(0), T = ids.size(1);
    std::vector<std::vector<int32_t>> generated(static_cast<size_t>(B));
    torch::Tensor next;
    if (lm) {
      auto cache = lm->new_cache(B, T + options.max_new_tokens);
      memory::ExplicitForwardOptions fo;
      fo.attention_mask = mask;
      fo.cache = &cache;
      fo.logits = model::LogitsMode::kLast;
      auto r = lm->forward(ids, fo);
      if (stats) stats->add(r.layers);
      const auto nl = static_cast<double>(std::max<size_t>(1, r.layers.size()));
      for (int64_t b = 0; b < B; ++b) {
        const QaItem& item = items[begin + static_cast<size_t>(b)];
        double rec = 0, hit = 0, alpha = 0;
        for (const auto& layer : r.layers) {
          alpha += layer.alpha[b][T - 1].item<double>();
          if (item.index < 0) continue;
          auto cand = layer.candidate_indices[b][T - 1];
          const int64_t k = std::min<int64_t>(options.recall_k, cand.size(0));
          rec += cand.narrow(0, 0, k).eq(item.index).any().item<bool>() ? 1 : 0;
          hit += layer.selected_indices[b][T - 1].eq(item.index).any().item<bool>() ? 1 : 0;
        }
        alpha_sum += alpha / nl;
        ++alpha_rows;
        if (item.index >= 0 && !r.layers.empty()) {
          recall_sum += rec / nl;
          hit_sum += hit / nl;
          ++targeted;
        }
      }
      next = r.logits.argmax(-1);
      for (int64_t s = 1; s <= options.max_new_tokens; ++s) {
        for (int64_t b = 0; b < B; ++b) generated[static_cast<size_t>(b)].push_back(next[b].item<int64_t>());
        if (s == options.max_new_tokens) break;
        fo.attention_mask = torch::ones({B, 1}, torch::kInt64);
        next = lm->forward(next.unsqueeze(1), fo).logits.argmax(-1);
      }
    } else {
      auto cache = backbone.new_cache(B, T + options.max_new_tokens);
      model::ForwardOptions fo;
      fo.attention_mask = mask;
      fo.cache = &cache;
      fo.logits = model::LogitsMode::kLast;
      next = backbone.forward(ids, fo).logits.argmax(-1);
      for (int64_t s = 1; s <= options.max_new_tokens; ++s) {
        for (int64_t b = 0; b < B; ++b) generated[static_cast<size_t>(b)].push_back(next[b].item<int64_t>());
        if (s == options.max_new_tokens) break;
        fo.attention_mask = torch::ones({B, 1}, torch::kInt64);
        next = backbone.forward(next.unsqueeze(1), fo).logits.argmax(-1);
      }
    }
    for (int64_t b = 0; b < B; ++b) {
      const QaItem& item = items[begin + static_cast<size_t>(b)];
      std::string text = tokenizer.decode(generated[static_cast<size_t>(b)]);
      const bool ok = judge_answer(text, item.answer, options.judge);
      out.correct += ok ? 1 : 0;
      out.generated.push_back(std::move(text));
      out.judged.push_back(ok);
    }
  }
  if (lm && was_training) lm->train();
  out.questions = static_cast<int64_t>(items.size());
  if (out.questions > 0) out.accuracy = static_cast<double>(out.correct) / static_cast<double>(out.questions);
  out.targeted = targeted;
  out.alpha_rows = alpha_rows;
  if (targeted > 0) {
    out.recall_at_k = recall_sum / static_cast<double>(targeted);
    out.hit_rate = hit_sum / static_cast<double>(targeted);
  }
  if (alpha_rows > 0) out.alpha = alpha_sum / static_cast<double>(alpha_rows);
  return out;
}

std::vector<QaItem> read_qa_items(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ELM_CHECK(in.good(), "cannot read QA file ", path);
  std::vector<QaItem> items;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    ELM_CHECK(!j.is_discarded() && j.is_object(), path, ":", line_no, ": not a JSON object");
    auto p = j.find("prompt");
    auto a = j.find("answer");
    ELM_CHECK(p != j.end() && p->is_string(), path, ":", line_no, ": missing string \"prompt\"");
    ELM_CHECK(a != j.end() && a->is_string(), path, ":", line_no, ": missing string \"answer\"");
    QaItem item{p->get<std::string>(), a->get<std::string>(), -1};
    if (auto i = j.find("index"); i != j.end()) {
      ELM_CHECK(i->is_number_integer(), path, ":", line_no, ": \"index\" must be an integer");
      item.index = i->get<int64_t>();
    }
    items.push_back(std::move(item));
  }
  ELM_CHECK(!items.empty(), "QA file ", path, " holds no questions");
  return items;
}

}  // namespace elm::train
