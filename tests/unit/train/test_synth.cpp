// The synthetic knowledge generator: deterministic per seed, different across seeds, unique and
// disjoint names, answers present in the fact sentence, held-out templates kept out of training,
// counterfactual values that differ from the truth, facts that fit a 16-token bank entry.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/assertions.h"
#include "text/tokenizer.h"
#include "support/test_paths.h"
#include "train/synth.h"

namespace elm::train {
namespace {

namespace fs = std::filesystem;

SynthOptions small(uint64_t seed, int64_t n = 200, int64_t m = 150, int64_t k = 3) {
  SynthOptions o;
  o.seed = seed;
  o.entities = n;
  o.disjoint_entities = m;
  o.counterfactuals = k;
  return o;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path scratch(const std::string& name) {
  fs::path dir = fs::path(ELM_BINARY_DIR) / "test-tmp" / "synth" / name;
  fs::remove_all(dir);
  return dir;
}

std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::json> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(Synth, SameSeedGivesIdenticalFiles) {
  const auto a = scratch("det-a"), b = scratch("det-b");
  write_synth(generate_synth(small(11)), a.string());
  write_synth(generate_synth(small(11)), b.string());
  for (const auto& f : synth_files()) {
    ASSERT_TRUE(fs::exists(a / f)) << f;
    const std::string ta = read(a / f);
    EXPECT_FALSE(ta.empty()) << f;
    EXPECT_EQ(ta, read(b / f)) << f;
    EXPECT_FALSE(fs::exists(a / (f + ".tmp"))) << f;
  }
}

TEST(Synth, DifferentSeedsGiveDifferentEntities) {
  const auto a = generate_synth(small(1)), b = generate_synth(small(2));
  std::set<std::string> names_a;
  for (const auto& e : a.entities) names_a.insert(e.name);
  int shared = 0;
  for (const auto& e : b.entities) shared += names_a.count(e.name);
  // 200 of ~33,000 names: two random draws share only a few.
  EXPECT_LT(shared, 20);
  EXPECT_NE(fact_sentence(a.entities[0]), fact_sentence(b.entities[0]));
}

TEST(Synth, EntitiesDoNotDependOnOtherCounts) {
  const auto a = generate_synth(small(5, 100, 0, 0)), b = generate_synth(small(5, 100, 300, 6));
  ASSERT_EQ(a.entities.size(), b.entities.size());
  for (size_t i = 0; i < a.entities.size(); ++i) EXPECT_EQ(fact_sentence(a.entities[i]), fact_sentence(b.entities[i]));
  EXPECT_TRUE(a.disjoint.empty());
  EXPECT_TRUE(a.counterfactuals.empty());
  EXPECT_EQ(b.counterfactuals.size(), 600u);
}

TEST(Synth, NamesUniqueAndSetsDisjoint) {
  const auto d = generate_synth(small(3, 1500, 1500, 0));
  ASSERT_EQ(d.entities.size(), 1500u);
  ASSERT_EQ(d.disjoint.size(), 1500u);
  std::set<std::string> main_names, disjoint_names;
  for (const auto& e : d.entities) main_names.insert(e.name);
  for (const auto& e : d.disjoint) disjoint_names.insert(e.name);
  EXPECT_EQ(main_names.size(), 1500u);
  EXPECT_EQ(disjoint_names.size(), 1500u);
  for (const auto& n : disjoint_names) EXPECT_EQ(main_names.count(n), 0u) << n;
  // Names never spell an attribute value, and every value vocabulary gets used.
  std::set<std::string> values[kNumAttributes];
  for (const auto& e : d.entities) {
    for (int a = 0; a < kNumAttributes; ++a) {
      values[a].insert(e.values[a]);
      const auto& vocab = attribute_values(static_cast<Attribute>(a));
      EXPECT_EQ(std::count(vocab.begin(), vocab.end(), e.name), 0) << e.name;
    }
  }
  for (int a = 0; a < kNumAttributes; ++a) {
    EXPECT_EQ(values[a].size(), attribute_values(static_cast<Attribute>(a)).size()) << a;
  }
}

TEST(Synth, DisjointNamesNeverInBankOrQaFiles) {
  const auto dir = scratch("disjoint");
  const auto d = generate_synth(small(4, 120, 80, 1));
  write_synth(d, dir.string());
  const std::string kb = read(dir / "knowledge.json"), qa = read(dir / "qa_train.jsonl") + read(dir / "qa_heldout.jsonl");
  const std::string pretrain = read(dir / "pretrain.jsonl");
  for (const auto& e : d.disjoint) {
    EXPECT_EQ(kb.find("\"" + e.name + " "), std::string::npos) << e.name;
    EXPECT_EQ(qa.find("\"entity\":\"" + e.name + "\""), std::string::npos) << e.name;
    EXPECT_CONTAINS(pretrain, fact_sentence(e));
  }
  // The bank's facts appear nowhere in the pretraining text.
  for (const auto& e : d.entities) EXPECT_EQ(pretrain.find(e.name + " lives"), std::string::npos) << e.name;
}

TEST(Synth, EveryAnswerIsInItsFactSentence) {
  const auto dir = scratch("answers");
  const auto d = generate_synth(small(9, 100, 10, 0));
  write_synth(d, dir.string());
  std::map<std::string, std::string> fact;
  for (const auto& e : d.entities) fact[e.name] = fact_sentence(e);
  int lines = 0;
  for (const char* f : {"qa_train.jsonl", "qa_heldout.jsonl"}) {
    for (const auto& j : read_jsonl(dir / f)) {
      ++lines;
      const std::string name = j["entity"], answer = j["answer"], question = j["question"];
      ASSERT_TRUE(fact.count(name)) << name;
      EXPECT_CONTAINS(fact[name], " " + answer);
      EXPECT_CONTAINS(question, name);
      EXPECT_EQ(j["prompt"], "Question: " + question + "\nAnswer:");
    }
  }
  // 100 entities x 3 attributes x (4 train + 2 held-out) phrasings.
  EXPECT_EQ(lines, 100 * 3 * 6);
  // The knowledge base holds the fact sentences in entity order.
  const auto kb = nlohmann::json::parse(read(dir / "knowledge.json"));
  ASSERT_EQ(kb.size(), d.entities.size());
  for (size_t i = 0; i < kb.size(); ++i) EXPECT_EQ(kb[i]["sentence"], fact_sentence(d.entities[i]));
}

TEST(Synth, HeldoutTemplatesNeverInTraining) {
  const auto dir = scratch("heldout");
  write_synth(generate_synth(small(13, 50, 50, 1)), dir.string());
  std::set<std::string> train_t, held_t, held_questions;
  for (const auto& j : read_jsonl(dir / "qa_train.jsonl")) train_t.insert(j["template"].get<std::string>());
  for (const auto& j : read_jsonl(dir / "qa_heldout.jsonl")) {
    held_t.insert(j["template"].get<std::string>());
    held_questions.insert(j["question"].get<std::string>());
  }
  EXPECT_EQ(train_t.size(), 12u);
  EXPECT_EQ(held_t.size(), 6u);
  for (const auto& t : held_t) EXPECT_EQ(train_t.count(t), 0u) << t;
  // No held-out phrasing reaches the pretraining text either (checked on its fixed wording).
  const std::string pretrain = read(dir / "pretrain.jsonl");
  for (const auto& t : question_templates()) {
    if (!t.heldout) continue;
    std::string stem = t.pattern.substr(t.pattern.find("}") + 1);  // e.g. " lives in which city?"
    if (t.pattern.rfind("{name}", 0) != 0) stem = t.pattern.substr(0, t.pattern.find("{"));
    EXPECT_EQ(pretrain.find(stem), std::string::npos) << stem;
  }
  EXPECT_FALSE(held_questions.empty());
}

TEST(Synth, RouterVariantsHoldTheNameAndNoQuestionWord) {
  // Every word of every question template (train and held-out), lower-cased, without punctuation.
  std::set<std::string> template_words;
  for (const auto& t : question_templates()) {
    std::string w;
    for (char c : t.pattern + " ") {
      if (std::isalpha(static_cast<unsigned char>(c))) {
        w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      } else {
        if (!w.empty() && w != "name" && w != "s") template_words.insert(w);
        w.clear();
      }
    }
  }
  // Function words the templates share with ordinary text may appear; content words may not.
  const std::set<std::string> shared = {"a", "do", "does", "for", "is", "the", "of", "in", "as", "from"};
  for (const auto& f : router_query_fillers()) {
    std::string lw;
    for (char c : f) lw += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (template_words.count(lw)) EXPECT_TRUE(shared.count(lw)) << "filler '" << f << "' is a template word";
  }

  auto o = small(31, 30, 5, 0);
  o.router_variants = 5;
  const auto d = generate_synth(o);
  ASSERT_EQ(d.router_variants.size(), 150u);
  std::set<std::string> distinct(d.router_variants.begin(), d.router_variants.end());
  EXPECT_GT(distinct.size(), 140u);
  for (size_t i = 0; i < d.router_variants.size(); ++i) {
    EXPECT_CONTAINS(d.router_variants[i], d.entities[i / 5].name);
  }
  const auto dir = scratch("router-variants");
  write_synth(d, dir.string());
  const auto lines = read_jsonl(dir / "router_train.jsonl");
  ASSERT_EQ(lines.size(), 30u * (12 + 1 + 5));
  for (size_t i = 0; i < lines.size(); ++i) {
    const int64_t entity = static_cast<int64_t>(i / 18);
    EXPECT_EQ(lines[i]["target_indices"], nlohmann::json::array({entity}));
    EXPECT_CONTAINS(lines[i]["query"].get<std::string>(), d.entities[entity].name);
  }
  // The variants come from their own stream: the rest of the data does not change with their number.
  o.router_variants = 0;
  const auto none = generate_synth(o);
  for (size_t i = 0; i < d.entities.size(); ++i) EXPECT_EQ(fact_sentence(none.entities[i]), fact_sentence(d.entities[i]));
  EXPECT_TRUE(none.router_variants.empty());
}

TEST(Synth, CounterfactualsDifferFromTheTruth) {
  const auto dir = scratch("cf");
  const auto d = generate_synth(small(21, 80, 10, 4));
  ASSERT_EQ(d.counterfactuals.size(), 320u);
  for (const auto& c : d.counterfactuals) {
    const auto& truth = d.entities.at(c.entity_index);
    EXPECT_EQ(c.edited.name, truth.name);
    for (int a = 0; a < kNumAttributes; ++a) EXPECT_NE(c.edited.values[a], truth.values[a]);
  }
  write_synth(d, dir.string());
  const auto lines = read_jsonl(dir / "counterfactual.jsonl");
  ASSERT_EQ(lines.size(), 320u);
  for (const auto& j : lines) {
    const auto& truth = d.entities.at(j["index"].get<size_t>());
    EXPECT_EQ(j["entity"], truth.name);
    EXPECT_EQ(j["original_sentence"], fact_sentence(truth));
    ASSERT_EQ(j["qa"].size(), 18u);
    for (const auto& q : j["qa"]) {
      EXPECT_NE(q["answer"], j["original"][q["attribute"].get<std::string>()]);
      EXPECT_EQ(q["answer"], j["attributes"][q["attribute"].get<std::string>()]);
      EXPECT_CONTAINS(j["sentence"].get<std::string>(), " " + q["answer"].get<std::string>());
    }
  }
}

TEST(Synth, FactSentencesFitSixteenQwen3Tokens) {
  const auto& tok = ::elm::testing::qwen3_tokenizer();
  size_t longest = 0;
  std::string worst;
  // The whole name space (each name once), and counterfactual sentences of a second seed.
  const auto all = generate_synth(small(0, name_space_size(), 0, 0));
  const auto other = generate_synth(small(1, 2000, 0, 1));
  std::vector<std::string> sentences;
  for (const auto& e : all.entities) sentences.push_back(fact_sentence(e));
  for (const auto& c : other.counterfactuals) sentences.push_back(fact_sentence(c.edited));
  for (const auto& s : sentences) {
    const size_t n = tok.encode(s).size();
    if (n > longest) longest = n, worst = s;
  }
  EXPECT_LE(longest, 16u) << worst;
  EXPECT_GE(longest, 12u) << worst;  // the sentence really carries name + three values
  // Every attribute value is a single token after a space, so answers are one token.
  for (int a = 0; a < kNumAttributes; ++a) {
    for (const auto& v : attribute_values(static_cast<Attribute>(a))) EXPECT_EQ(tok.encode(" " + v).size(), 1u) << v;
  }
}

TEST(Synth, BadOptionsAreClearErrors) {
  EXPECT_CONTAINS(testing::error_of([] { generate_synth(small(0, 0)); }), "--entities must be > 0");
  EXPECT_CONTAINS(testing::error_of([] { generate_synth(small(0, 10, -1)); }), "--disjoint-entities");
  EXPECT_CONTAINS(testing::error_of([] { generate_synth(small(0, 10, 0, -2)); }), "--counterfactuals");
  const int64_t cap = name_space_size();
  EXPECT_GT(cap, 20000);
  EXPECT_CONTAINS(testing::error_of([&] { generate_synth(small(0, cap, 1, 0)); }), "unique names");
  EXPECT_NO_THROW(generate_synth(small(0, cap - 5, 5, 0)));  // exactly the whole name space works
}

TEST(Synth, PretrainHoldsFactsAndQuestionFormat) {
  const auto d = generate_synth(small(8, 10, 20, 0));
  const auto texts = pretrain_texts(d);
  // Per disjoint entity: the fact, 12 train QA pairs, one fact + QA in context.
  EXPECT_EQ(texts.size(), 20u * 14u);
  EXPECT_EQ(texts[0], fact_sentence(d.disjoint[0]));
  EXPECT_EQ(texts[1], "Question: Where does " + d.disjoint[0].name + " live?\nAnswer: " + d.disjoint[0].values[0]);
}

}  // namespace
}  // namespace elm::train

namespace elm::train {
namespace {

TEST(Synth, UnseenEntitiesHaveNewNamesAndDoNotDependOnTheCount) {
  const auto d = generate_synth(small(4, 30, 10, 1));
  const auto a = unseen_entities(d, 12);
  const auto b = unseen_entities(d, 5);
  ASSERT_EQ(a.size(), 12u);
  ASSERT_EQ(b.size(), 5u);
  std::set<std::string> known;
  for (const auto& e : d.entities) known.insert(e.name);
  for (const auto& e : d.disjoint) known.insert(e.name);
  std::set<std::string> fresh;
  for (const auto& e : a) {
    EXPECT_EQ(known.count(e.name), 0u) << e.name;
    fresh.insert(e.name);
  }
  EXPECT_EQ(fresh.size(), 12u);  // all different
  for (size_t i = 0; i < b.size(); ++i) {
    EXPECT_EQ(b[i].name, a[i].name);
    for (int k = 0; k < kNumAttributes; ++k) EXPECT_EQ(b[i].values[k], a[i].values[k]);
  }
}

}  // namespace
}  // namespace elm::train
