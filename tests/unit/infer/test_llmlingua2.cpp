// The LLMLingua-2 compressor on tiny random BERT and XLM-R classifiers, against a reference of
// SPECS.md section 3 written here from scratch: the test computes each chunk's keep probabilities
// with the encoder itself (no padding, one chunk at a time), then merges words, thresholds and joins
// them with its own code. Also: force tokens, drop_consecutive, 510-token chunks, threads, errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <thread>

#include "core/config.h"
#include "infer/compressor.h"
#include "infer/llmlingua2.h"
#include "model/tiny_classifier.h"
#include "support/assertions.h"
#include "support/scratch_dir.h"
#include "text/tiny_tokenizers.h"

namespace elm::infer {
namespace {

using Strings = std::vector<std::string>;
const std::string kM = "\xE2\x96\x81";  // "▁"

std::string tiny_dir(const std::string& arch) {
  static std::map<std::string, std::string> dirs;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  auto& dir = dirs[arch];
  if (dir.empty()) {
    // Per process: ctest runs each test in its own process, possibly at the same time.
    dir = testing::scratch_dir("llmlingua2", arch + "-" + std::to_string(::getpid())).string();
    model::TinyClassifierOptions o;
    o.arch = arch;
    o.seed = 1;
    model::write_tiny_classifier(dir, o);
  }
  return dir;
}

const LlmLingua2Compressor& compressor(const std::string& arch) {
  static std::map<std::string, std::unique_ptr<LlmLingua2Compressor>> made;
  auto& c = made[arch];
  if (!c) {
    LlmLingua2Options o;
    o.model_path = tiny_dir(arch);
    c = std::make_unique<LlmLingua2Compressor>(o);
  }
  return *c;
}

// ---- The reference, written from SPECS.md section 3 without the library's rules ----

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
}

std::string strip_leading(const std::string& s, const std::string& unit) {
  size_t pos = 0;
  while (s.compare(pos, unit.size(), unit) == 0) pos += unit.size();
  return s.substr(pos);
}

double np_percentile(std::vector<double> v, int q) {
  std::sort(v.begin(), v.end());
  const double pos = (static_cast<double>(v.size()) - 1) * (q / 100.0);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  if (lo + 1 >= v.size()) return v.back();
  const double t = pos - std::floor(pos), a = v[lo], b = v[lo + 1];
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

struct RefWord {
  std::string text;
  double prob;
  bool keep = false, force = false;
};
struct RefResult {
  std::string text;
  std::vector<RefWord> words;
  size_t chunks = 0, tokens = 0;
  std::vector<size_t> chunk_lengths;
};

RefResult reference(const LlmLingua2Compressor& c, const std::string& input, double rate = 0.4, bool drop = true) {
  const auto& tok = c.tokenizer();
  const bool xlmr = c.model().config().is_xlm_roberta();
  const Strings force = c.options().force_tokens;
  Strings ends = c.options().chunk_end_tokens;
  std::vector<std::pair<std::string, std::string>> map;
  for (size_t i = 0; i < force.size(); ++i) {
    if (tok.tokenize(force[i]).size() != 1) map.push_back({force[i], "[NEW" + std::to_string(i) + "]"});
  }
  auto is_force = [&](const std::string& s) { return std::find(force.begin(), force.end(), s) != force.end(); };
  auto is_mapped = [&](const std::string& s) {
    return std::any_of(map.begin(), map.end(), [&](const auto& m) { return m.second == s; });
  };
  for (const auto& [o, n] : map) {
    if (std::find(ends.begin(), ends.end(), o) != ends.end()) ends.push_back(n);
  }
  std::string text = input;
  for (const auto& [o, n] : map) replace_all(text, o, n);
  Strings tokens;
  for (const auto& p : tok.tokenize(text)) tokens.push_back(p.token);
  RefResult out;
  out.tokens = tokens.size();

  std::vector<std::string> chunk_strings;
  for (size_t st = 0; st < tokens.size();) {
    size_t ed;
    if (st + 510 > tokens.size() - 1) {
      ed = tokens.size() - 1;
    } else {
      ed = st + 510;
      for (size_t e = ed; e > st; --e) {
        if (std::find(ends.begin(), ends.end(), tokens[e]) != ends.end()) {
          ed = e;
          break;
        }
      }
    }
    chunk_strings.push_back(tok.tokens_to_string(Strings(tokens.begin() + st, tokens.begin() + ed + 1)));
    out.chunk_lengths.push_back(ed + 1 - st);
    st = ed + 1;
  }
  out.chunks = chunk_strings.size();

  const double reduce = 1 - rate;
  for (const auto& chunk : chunk_strings) {
    std::vector<int64_t> ids = {tok.token_to_id("[CLS]")};
    for (const auto& p : tok.tokenize(chunk)) ids.push_back(p.id);
    ids.push_back(tok.token_to_id("[SEP]"));
    if (ids.size() > 512) ids.resize(512);
    const auto logits = c.model().forward(torch::tensor(ids, torch::kInt64).view({1, -1}))[0];
    const auto p_keep = torch::softmax(logits, -1).select(-1, 1).contiguous();

    struct W {
      std::string text;
      std::vector<double> p;
      bool forced;
    };
    std::vector<W> words;
    for (size_t j = 0; j < ids.size(); ++j) {
      const std::string& t = tok.id_to_token(static_cast<int32_t>(ids[j]));
      if (tok.is_special_token(t)) continue;
      const double p = p_keep[static_cast<int64_t>(j)].item<float>();
      const std::string pure = xlmr ? strip_leading(t, kM) : strip_leading(t, "#");
      const bool forced = is_force(pure) || is_mapped(pure);
      bool starts;
      if (xlmr) {
        starts = std::string("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~").find(t) != std::string::npos || is_force(t) ||
                 is_mapped(t) || t.rfind(kM, 0) == 0;
      } else {
        starts = forced || t.rfind("##", 0) != 0;
      }
      if (starts) {
        std::string w = t;
        for (const auto& [o, n] : map) replace_all(w, n, o);
        words.push_back({w, {forced ? 1.0 : p}, forced});
      } else {
        words.back().text += pure;
        words.back().p.push_back(p);
      }
    }
    std::vector<double> probs;
    for (const auto& w : words) {
      double s = 0;
      for (double p : w.p) s += p;
      probs.push_back(s / static_cast<double>(w.p.size()));
    }
    if (words.empty()) continue;
    if (drop) {
      const double t1 = np_percentile(probs, static_cast<int>(100 * reduce));
      bool between = false;
      std::string prev;
      bool has_prev = false;
      for (size_t i = 0; i < words.size(); ++i) {
        if (is_force(words[i].text)) {
          if (between) {
            between = false;
          } else if (has_prev && words[i].text == prev) {
            probs[i] = 0;
          }
          prev = words[i].text;
          has_prev = true;
        } else if (probs[i] > t1) {
          between = true;
        }
      }
    }
    std::vector<double> weighted;
    for (size_t i = 0; i < words.size(); ++i) weighted.insert(weighted.end(), words[i].p.size(), probs[i]);
    const double thr = np_percentile(weighted, static_cast<int>(100 * reduce + 1));
    Strings kept;
    for (size_t i = 0; i < words.size(); ++i) {
      RefWord r{xlmr ? strip_leading(words[i].text, kM) : words[i].text, probs[i], false, words[i].forced};
      if (probs[i] > thr || (thr == 1.0 && probs[i] == 1.0)) {
        if (!(drop && is_force(words[i].text) && !kept.empty() && kept.back() == words[i].text)) {
          kept.push_back(words[i].text);
          r.keep = true;
        }
      }
      out.words.push_back(r);
    }
    // The decoders, written out: WordPiece joins with spaces and tidies " ." etc. per token;
    // Metaspace turns "▁" into spaces and drops those of the first token.
    std::string joined;
    for (size_t i = 0; i < kept.size(); ++i) {
      std::string w = kept[i];
      if (xlmr) {
        replace_all(w, kM, i == 0 ? "" : " ");
      } else {
        if (i > 0) w = w.rfind("##", 0) == 0 ? w.substr(2) : " " + w;
        for (const char* p : {" .", " ?", " !", " ,"}) replace_all(w, p, std::string(p + 1));
      }
      joined += w;
    }
    out.text += joined;
  }
  return out;
}

void expect_same(const Compression& got, const RefResult& want, const std::string& what) {
  EXPECT_EQ(got.text, want.text) << what;
  EXPECT_EQ(static_cast<size_t>(got.chunks), want.chunks) << what;
  EXPECT_EQ(static_cast<size_t>(got.input_tokens), want.tokens) << what;
  ASSERT_EQ(got.words.size(), want.words.size()) << what;
  for (size_t i = 0; i < got.words.size(); ++i) {
    EXPECT_EQ(got.words[i].text, want.words[i].text) << what << " word " << i;
    EXPECT_EQ(got.words[i].keep, want.words[i].keep) << what << " word " << i << " '" << want.words[i].text << "'";
    EXPECT_EQ(got.words[i].force, want.words[i].force) << what << " word " << i;
    EXPECT_NEAR(got.words[i].prob, want.words[i].prob, 1e-5) << what << " word " << i;
  }
}

const std::string kText =
    "The meeting started at 9:30 and ended at noon.\nPlease send the final numbers to the finance team before "
    "Friday!! Can we move the call to Tuesday afternoon?\n\nThe caf\xC3\xA9 on the corner serves coffee, tea and "
    "fresh bread; everyone agreed. The state-of-the-art system (version 2) is \"fast\", and it's cheap.";

std::string long_text(size_t sentences) {
  std::string s;
  const auto& corpus = text::tiny_corpus();
  for (size_t i = 0; i < sentences; ++i) s += corpus[i % corpus.size()] + (i % 3 == 2 ? "\n" : " ");
  return s;
}

class Lingua : public ::testing::TestWithParam<std::string> {};

TEST_P(Lingua, MatchesTheReference) {
  const auto& c = compressor(GetParam());
  const Compression got = c.compress(kText);
  const RefResult want = reference(c, kText);
  expect_same(got, want, "kText");
  // About rate of the words survive (force words come on top); the labels are not all equal.
  size_t kept = 0;
  for (const auto& w : got.words) kept += w.keep;
  EXPECT_GT(kept, 3u);
  EXPECT_LT(kept, got.words.size());
  EXPECT_LT(got.text.size(), kText.size());
  EXPECT_EQ(got.thresholds.size(), 1u);
}

TEST_P(Lingua, FewerForceTokensLeavePunctuationAsTokens) {
  // With only "\n" and "?" forced, "." "," ";" ... stay as they are: XLM-R's punctuation rule and
  // mBERT's plain tokens decide where words start.
  LlmLingua2Options o = compressor(GetParam()).options();
  o.force_tokens = {"\n", "?"};
  const LlmLingua2Compressor c(o);
  const Compression got = c.compress(kText);
  expect_same(got, reference(c, kText), "few force tokens");
  bool saw_unforced_period = false;
  for (const auto& w : got.words) saw_unforced_period |= w.text == "." && !w.force;
  EXPECT_TRUE(saw_unforced_period);
}

TEST_P(Lingua, ForceTokensAreKeptWithProbabilityOne) {
  const auto& c = compressor(GetParam());
  // "\n" is no token of its own in either tokenizer: it becomes [NEW0] (index 0 of the list). The
  // others map to [NEWi] exactly when they are not one token (the tiny XLM-R vocabulary has no "▁.").
  const auto& map = c.force_tokens().token_map;
  ASSERT_FALSE(map.empty());
  EXPECT_EQ(map[0], (std::pair<std::string, std::string>{"\n", "[NEW0]"}));
  const Strings force = {"\n", ".", "!", "?", ",", ":", ";"};
  size_t expected_mapped = 0;
  for (size_t i = 0; i < force.size(); ++i) {
    const bool single = c.tokenizer().tokenize(force[i]).size() == 1;
    expected_mapped += !single;
    const bool mapped = std::any_of(map.begin(), map.end(), [&](const auto& m) {
      return m.first == force[i] && m.second == "[NEW" + std::to_string(i) + "]";
    });
    EXPECT_EQ(mapped, !single) << "'" << force[i] << "'";
  }
  EXPECT_EQ(map.size(), expected_mapped);
  if (GetParam() == "bert") EXPECT_EQ(map.size(), 1u);  // mBERT-style vocabularies hold . ! ? , : ;
  const Compression got = c.compress(kText);
  size_t newlines = 0, periods = 0;
  for (const auto& w : got.words) {
    if (std::find(force.begin(), force.end(), w.text) != force.end()) {
      EXPECT_TRUE(w.force) << "'" << w.text << "'";
      EXPECT_TRUE(w.prob == 1.0 || w.prob == 0.0) << "'" << w.text << "' " << w.prob;  // 0: a dropped repeat
    } else {
      EXPECT_FALSE(w.force) << "'" << w.text << "'";
      EXPECT_LT(w.prob, 1.0);
    }
    newlines += w.text == "\n";
    periods += w.text == ".";
  }
  EXPECT_EQ(newlines, 3u);
  EXPECT_GE(periods, 1u);
  // Every kept newline reaches the output as a newline.
  EXPECT_NE(got.text.find('\n'), std::string::npos);
}

TEST_P(Lingua, DropConsecutiveRemovesARepeatedForceToken) {
  const auto& c = compressor(GetParam());
  const std::string text = "the river flows.. into the sea";
  const Compression got = c.compress(text);
  std::vector<size_t> dots;
  for (size_t i = 0; i < got.words.size(); ++i) {
    if (got.words[i].text == ".") dots.push_back(i);
  }
  ASSERT_EQ(dots.size(), 2u);
  EXPECT_EQ(dots[1], dots[0] + 1);
  EXPECT_EQ(got.words[dots[0]].prob, 1.0);
  EXPECT_EQ(got.words[dots[1]].prob, 0.0);  // nothing between the two: the second gets 0
  EXPECT_FALSE(got.words[dots[1]].keep);
  expect_same(got, reference(c, text), "drop");

  LlmLingua2Options o = c.options();
  o.drop_consecutive = false;
  const LlmLingua2Compressor keep_all(o);
  const Compression plain = keep_all.compress(text);
  EXPECT_EQ(plain.words[dots[1]].prob, 1.0);
  EXPECT_TRUE(plain.words[dots[1]].keep);
  expect_same(plain, reference(keep_all, text, 0.4, false), "no drop");
}

TEST_P(Lingua, LongInputIsChunkedAt510Tokens) {
  const auto& c = compressor(GetParam());
  const std::string text = long_text(90);
  const RefResult want = reference(c, text);
  ASSERT_GE(want.chunks, 3u) << want.tokens << " tokens";
  for (size_t i = 0; i + 1 < want.chunk_lengths.size(); ++i) {
    EXPECT_LE(want.chunk_lengths[i], 511u);
    EXPECT_GT(want.chunk_lengths[i], 400u);  // scanned back to a sentence end, not far
  }
  const Compression got = c.compress(text);
  expect_same(got, want, "long");
  EXPECT_EQ(got.thresholds.size(), want.chunks);
  // Each chunk before the last ends at a chunk-end token: its text ends with ".", "!", "?" or a newline.
  std::string rewritten = text;
  replace_all(rewritten, "\n", "[NEW0]");
  const auto chunks = c.chunk_text(rewritten);
  ASSERT_EQ(chunks.size(), want.chunks);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    const std::string& s = chunks[i];
    const bool ends = s.back() == '.' || s.back() == '!' || s.back() == '?' ||
                      (s.size() >= 6 && s.compare(s.size() - 6, 6, "[NEW0]") == 0);
    EXPECT_TRUE(ends) << "chunk " << i << " ends with '" << s.substr(s.size() > 20 ? s.size() - 20 : 0) << "'";
  }
}

TEST_P(Lingua, ChunkWithoutEndTokenIsCutAt511AndTruncatedTo512) {
  const auto& c = compressor(GetParam());
  std::string text;
  for (int i = 0; i < 700; ++i) text += (i % 2 ? "river " : "the ");
  const RefResult want = reference(c, text);
  ASSERT_GE(want.chunks, 2u);
  for (size_t i = 0; i + 1 < want.chunks; ++i) EXPECT_EQ(want.chunk_lengths[i], 511u) << "chunk " << i;
  const auto chunks = c.chunk_text(text);
  const auto ids = c.chunk_ids(chunks[0]);
  EXPECT_EQ(ids.size(), 512u);  // [CLS] + 511 tokens, the [SEP] cut off as TokenClfDataset does
  EXPECT_NE(ids.back(), c.tokenizer().token_to_id("[SEP]"));
  expect_same(c.compress(text), want, "no end token");
}

TEST_P(Lingua, ChunksAreWrappedInBertsSpecialTokens) {
  const auto& c = compressor(GetParam());
  const auto ids = c.chunk_ids("the sea");
  if (GetParam() == "bert") {
    EXPECT_EQ(ids.front(), 101);
    EXPECT_EQ(ids.back(), 102);
  } else {
    EXPECT_EQ(ids.front(), 3);  // "[CLS]" and "[SEP]" are <unk> to XLM-R, as in the reference
    EXPECT_EQ(ids.back(), 3);
  }
}

TEST_P(Lingua, OtherRatesAndEmptyInput) {
  const auto& c = compressor(GetParam());
  for (double rate : {0.2, 0.7}) {
    LlmLingua2Options o = c.options();
    o.rate = rate;
    const LlmLingua2Compressor r(o);
    expect_same(r.compress(kText), reference(r, kText, rate), "rate " + std::to_string(rate));
  }
  const Compression empty = c.compress("");
  EXPECT_EQ(empty.text, "");
  EXPECT_EQ(empty.chunks, 0);
  EXPECT_TRUE(empty.words.empty());
}

TEST_P(Lingua, ConcurrentCallsGiveTheSameResult) {
  const auto& c = compressor(GetParam());
  const Compression once = c.compress(kText);
  std::vector<Compression> results(3);
  std::vector<std::thread> threads;
  for (auto& r : results) threads.emplace_back([&] { r = c.compress(kText); });
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    EXPECT_EQ(r.text, once.text);
    ASSERT_EQ(r.words.size(), once.words.size());
    for (size_t i = 0; i < r.words.size(); ++i) EXPECT_EQ(r.words[i].keep, once.words[i].keep);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Lingua, ::testing::Values("bert", "xlm-roberta"));

TEST(Compressor, PassthroughAndFactory) {
  Config config;
  // The default kind is the model: without one it is an error, never a silent passthrough.
  EXPECT_CONTAINS(testing::error_of([&] { make_compressor(config); }), "extractor.model_path is empty");
  config.set("extractor.kind", std::string("passthrough"));
  auto pass = make_compressor(config);
  EXPECT_EQ(pass->name(), "passthrough");
  const Compression p = pass->compress("Paris is the capital of France.\nBerlin too.");
  EXPECT_EQ(p.text, "Paris is the capital of France.\nBerlin too.");
  EXPECT_TRUE(p.words.empty());

  config.set("extractor.kind", std::string("llmlingua2"));
  EXPECT_CONTAINS(testing::error_of([&] { make_compressor(config); }), "extractor.model_path is empty");
  config.set("extractor.model_path", std::string("/nonexistent/lingua"));
  EXPECT_CONTAINS(testing::error_of([&] { make_compressor(config); }), "/nonexistent/lingua");
  config.set("extractor.model_path", tiny_dir("bert"));
  config.set("extractor.rate", 0.5);
  auto lingua = make_compressor(config);
  EXPECT_EQ(lingua->name(), "llmlingua2");
  EXPECT_EQ(dynamic_cast<const LlmLingua2Compressor&>(*lingua).options().rate, 0.5);
  EXPECT_FALSE(lingua->compress(kText).words.empty());

  // A model directory without weights names the missing file.
  const auto broken = testing::scratch_dir("llmlingua2", "broken");
  std::filesystem::copy_file(std::filesystem::path(tiny_dir("bert")) / "config.json", broken / "config.json");
  config.set("extractor.model_path", broken.string());
  EXPECT_CONTAINS(testing::error_of([&] { make_compressor(config); }), broken.string());
  LlmLingua2Options o;
  o.model_path = tiny_dir("bert");
  o.force_tokens = Strings(101, "x");
  EXPECT_CONTAINS(testing::error_of([&] { LlmLingua2Compressor c(o); }), "extractor.force_tokens");
  o.force_tokens = {"\n"};
  o.rate = 1.0;
  EXPECT_CONTAINS(testing::error_of([&] { LlmLingua2Compressor c(o); }), "extractor.rate");
}

}  // namespace
}  // namespace elm::infer
