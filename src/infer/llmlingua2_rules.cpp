#include "infer/llmlingua2_rules.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace elm::infer::llmlingua2 {

double percentile(std::vector<double> a, double q) {
  ELM_CHECK(!a.empty(), "percentile of an empty list");
  ELM_CHECK(q >= 0 && q <= 100, "percentile ", q, " is outside [0, 100]");
  std::sort(a.begin(), a.end());
  const double n = static_cast<double>(a.size());
  const double quantile = q / 100.0;                 // np.true_divide(q, 100), float64
  const double virtual_index = (n - 1) * quantile;   // 'linear': (n - 1) * quantiles
  if (virtual_index >= n - 1) return a.back();       // numpy clips to the last element
  const double previous = std::floor(virtual_index);
  const double lo = a[static_cast<std::size_t>(previous)];
  const double hi = a[static_cast<std::size_t>(previous) + 1];
  const double gamma = virtual_index - previous;
  const double diff = hi - lo;
  // numpy's _lerp: a + diff * t, but b - diff * (1 - t) where t >= 0.5 (monotonic and exact at 1).
  if (gamma >= 0.5) return hi - diff * (1.0 - gamma);
  return lo + diff * gamma;
}

namespace {

const std::string kMetaspace = "\xE2\x96\x81";  // U+2581 "▁"

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

std::string lstrip_all(std::string s, const std::string& unit) {
  std::size_t pos = 0;
  while (!unit.empty() && s.compare(pos, unit.size(), unit) == 0) pos += unit.size();
  return s.substr(pos);
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  std::string out;
  std::size_t pos = 0;
  for (std::size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out.append(to);
  }
  if (pos == 0) return;
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

}  // namespace

bool in_string_punctuation(const std::string& s) {
  static const std::string punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  return punctuation.find(s) != std::string::npos;
}

bool ForceTokens::is_force_token(const std::string& s) const {
  return std::find(tokens.begin(), tokens.end(), s) != tokens.end();
}

bool ForceTokens::is_mapped_token(const std::string& s) const {
  for (const auto& [original, added] : token_map) {
    if (added == s) return true;
  }
  return false;
}

std::string ForceTokens::restore(std::string s) const {
  for (const auto& [original, added] : token_map) replace_all(s, added, original);
  return s;
}

std::string ForceTokens::rewrite(std::string s) const {
  for (const auto& [original, added] : token_map) replace_all(s, original, added);
  return s;
}

double Word::mean() const {
  ELM_CHECK(!token_probs.empty(), "word '", text, "' has no tokens");
  double sum = 0.0;
  for (double p : token_probs) sum += p;
  return sum / static_cast<double>(token_probs.size());
}

std::vector<Word> merge_tokens_to_words(const std::vector<std::string>& tokens, const std::vector<float>& probs,
                                        WordRule rule, const ForceTokens& force,
                                        const std::function<bool(const std::string&)>& is_special) {
  ELM_CHECK(tokens.size() == probs.size(), "merge_tokens_to_words: ", tokens.size(), " tokens but ", probs.size(),
            " probabilities");
  const bool wordpiece = rule == WordRule::kWordPiece;
  std::vector<Word> words;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (is_special(token)) continue;
    // Python's token.lstrip("##") strips every leading '#'; lstrip("▁") every leading "▁".
    const std::string pure = wordpiece ? lstrip_all(token, "#") : lstrip_all(token, kMetaspace);
    bool starts;
    if (wordpiece) {
      starts = force.is_force_token(pure) || force.is_mapped_token(pure) || !starts_with(token, "##");
    } else {
      starts = in_string_punctuation(token) || force.is_force_token(token) || force.is_mapped_token(token) ||
               starts_with(token, kMetaspace);
    }
    const double p = probs[i];  // float32 from the classifier, exact in double
    if (starts || words.empty()) {
      Word w;
      w.forced = force.is_force_token(pure) || force.is_mapped_token(pure);
      w.text = force.restore(token);
      w.token_probs.push_back(w.forced ? 1.0 : p);
      w.tokens = 1;
      words.push_back(std::move(w));
    } else {
      Word& w = words.back();
      w.text += pure;
      w.token_probs.push_back(p);  // continuations keep their own probability, forced word or not
      ++w.tokens;
    }
  }
  return words;
}

ChunkLabels label_words(const std::vector<Word>& words, const std::vector<int64_t>& token_counts, double reduce_rate,
                        bool drop_consecutive, const ForceTokens& force) {
  ELM_CHECK(token_counts.size() == words.size(), "label_words: ", words.size(), " words but ", token_counts.size(),
            " token counts");
  ChunkLabels out;
  out.drop_threshold = std::numeric_limits<double>::quiet_NaN();
  out.threshold = std::numeric_limits<double>::quiet_NaN();
  out.keep.assign(words.size(), false);
  if (words.empty()) return out;
  for (const auto& w : words) out.probs.push_back(w.mean());

  // int(100 * reduce_rate) and int(100 * reduce_rate + 1): Python truncates toward zero.
  const double q_drop = std::trunc(100.0 * reduce_rate);
  const double q_keep = std::trunc(100.0 * reduce_rate + 1.0);
  if (drop_consecutive) {
    out.drop_threshold = percentile(out.probs, q_drop);
    bool word_between = false;
    const std::string* previous = nullptr;
    for (std::size_t i = 0; i < words.size(); ++i) {
      const std::string& text = words[i].text;
      if (force.is_force_token(text)) {
        if (word_between) {
          word_between = false;
        } else if (previous != nullptr && text == *previous) {
          out.probs[i] = 0.0;
        }
        previous = &text;
      } else {
        word_between = word_between || out.probs[i] > out.drop_threshold;
      }
    }
  }
  std::vector<double> weighted;
  for (std::size_t i = 0; i < words.size(); ++i) {
    for (int64_t k = 0; k < token_counts[i]; ++k) weighted.push_back(out.probs[i]);
  }
  if (weighted.empty()) return out;  // every word weighs 0 tokens: nothing to keep
  out.threshold = percentile(weighted, q_keep);
  for (std::size_t i = 0; i < words.size(); ++i) {
    const double p = out.probs[i];
    if (p > out.threshold || (out.threshold == 1.0 && p == out.threshold)) {
      const std::string& text = words[i].text;
      if (drop_consecutive && force.is_force_token(text) && !out.kept_words.empty() && out.kept_words.back() == text) {
        continue;
      }
      out.kept_words.push_back(text);
      out.keep[i] = true;
    }
  }
  return out;
}

std::vector<std::pair<std::size_t, std::size_t>> chunk_ranges(const std::vector<std::string>& tokens,
                                                              const std::vector<std::string>& chunk_end_tokens,
                                                              std::size_t max_len) {
  ELM_CHECK(max_len >= 1, "chunk length must be >= 1");
  auto is_end = [&](const std::string& t) {
    return std::find(chunk_end_tokens.begin(), chunk_end_tokens.end(), t) != chunk_end_tokens.end();
  };
  std::vector<std::pair<std::size_t, std::size_t>> out;
  const std::size_t n = tokens.size();
  std::size_t st = 0;
  while (st < n) {
    if (st + max_len > n - 1) {
      out.emplace_back(st, n);
      break;
    }
    std::size_t ed = st + max_len;
    for (std::size_t j = 0; j < ed - st; ++j) {
      if (is_end(tokens[ed - j])) {
        ed -= j;
        break;
      }
    }
    out.emplace_back(st, ed + 1);
    st = ed + 1;
  }
  return out;
}

}  // namespace elm::infer::llmlingua2
