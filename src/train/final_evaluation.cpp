#include "train/final_evaluation.h"

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "memory/stats.h"
#include "train/data_options.h"
#include "train/data_parallel.h"
#include "train/evaluation.h"

namespace elm::train {

namespace {

double ratio(double num, double den) { return den > 0 ? num / den : std::numeric_limits<double>::quiet_NaN(); }

RowRange my_slice(int64_t n, dist::Communicator* group) {
  return group ? shard_rows(n, group->size(), group->rank()) : RowRange{0, n};
}

}  // namespace

nlohmann::json final_evaluation(const Config& config, memory::ExplicitLM* lm, const model::Qwen3Model& backbone,
                                const text::Tokenizer& tokenizer, int32_t pad_id, int64_t step,
                                DataFormat train_format, dist::Communicator* group) {
  nlohmann::json eval = {{"kind", "eval"}, {"step", step}};
  bool evaluated = false;
  const int64_t max_examples = config.get_int("eval.max_examples");
  auto limit = [&](int64_t n) { return max_examples > 0 ? std::min(max_examples, n) : n; };

  const std::string eval_path = config.get_string("data.eval_path");
  if (!eval_path.empty() && train_format != DataFormat::router) {
    DataOptions eo = DataOptions::from_config(config, DataSplit::eval);
    Dataset data = Dataset::load(eo, tokenizer);
    const RowRange mine = my_slice(limit(data.size()), group);
    LmEval le = evaluate_lm(lm, backbone, data, config.get_int("eval.batch_size"), mine.begin, mine.end, pad_id);
    std::vector<double> sums = {le.tokens > 0 ? le.loss * static_cast<double>(le.tokens) : 0.0,
                                static_cast<double>(le.tokens)};
    sum_over_ranks(group, sums);
    const double loss = ratio(sums[0], sums[1]);
    eval["lm_loss"] = loss;
    eval["perplexity"] = std::exp(loss);
    eval["lm_tokens"] = static_cast<int64_t>(sums[1]);
    evaluated = true;
  }

  const std::string qa_path = config.get_string("eval.qa_path");
  if (!qa_path.empty()) {
    auto all = read_qa_items(qa_path);
    const RowRange mine = my_slice(limit(static_cast<int64_t>(all.size())), group);
    std::vector<QaItem> items(all.begin() + mine.begin, all.begin() + mine.end);
    QaEvalOptions qo;
    qo.judge = parse_judge_mode(config.get_string("eval.judge"));
    qo.max_new_tokens = config.get_int("eval.max_new_tokens");
    qo.batch_size = config.get_int("eval.batch_size");
    qo.recall_k = config.get_int("eval.recall_k");
    std::unique_ptr<memory::RetrievalStats> stats;
    if (lm) stats = std::make_unique<memory::RetrievalStats>(lm->memory_layers(), lm->bank().num_entries());
    QaEval qe = evaluate_qa(lm, backbone, tokenizer, items, qo, stats.get());
    auto weighted = [](double mean, int64_t n) { return n > 0 ? mean * static_cast<double>(n) : 0.0; };
    std::vector<double> sums = {static_cast<double>(qe.correct),        static_cast<double>(qe.questions),
                                weighted(qe.recall_at_k, qe.targeted),  weighted(qe.hit_rate, qe.targeted),
                                static_cast<double>(qe.targeted),       weighted(qe.alpha, qe.alpha_rows),
                                static_cast<double>(qe.alpha_rows)};
    sum_over_ranks(group, sums);
    eval["accuracy"] = ratio(sums[0], sums[1]);
    eval["questions"] = static_cast<int64_t>(sums[1]);
    if (lm) {
      eval["recall_at_k"] = ratio(sums[2], sums[4]);
      eval["hit_rate"] = ratio(sums[3], sums[4]);
      eval["alpha_mean"] = ratio(sums[5], sums[6]);
      if (group && group->size() > 1) stats->sum_over_ranks([&](torch::Tensor& t) { group->all_reduce_sum(t); });
      double coverage = 0;
      const auto summary = stats->summary();
      for (const auto& s : summary) coverage += s.coverage;
      eval["coverage"] = summary.empty() ? 0.0 : coverage / static_cast<double>(summary.size());
    }
    evaluated = true;
  }
  return evaluated ? eval : nlohmann::json();
}

}  // namespace elm::train
