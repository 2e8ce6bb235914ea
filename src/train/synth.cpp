#include "train/synth.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/random.h"

namespace elm::train {

namespace {

constexpr int kGeneratorVersion = 1;

// Name syllables: Onset Vowel Middle Vowel Coda. Onsets, middles and codas hold consonants only
// and vowels are single letters, so every combination spells a different name.
const std::vector<std::string>& onsets() {
  static const std::vector<std::string> v = {"B", "D", "F", "G", "K", "L", "M", "N", "P",
                                             "R", "S", "T", "V", "Z", "Br", "Dr", "Kr", "Tr"};
  return v;
}
const std::vector<std::string>& vowels() {
  static const std::vector<std::string> v = {"a", "e", "i", "o", "u"};
  return v;
}
const std::vector<std::string>& middles() {
  static const std::vector<std::string> v = {"l", "n", "r", "v", "m", "s", "t", "d", "k", "rn", "ld", "nd"};
  return v;
}
const std::vector<std::string>& codas() {
  static const std::vector<std::string> v = {"", "n", "r", "s", "l", "k"};
  return v;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Every name the generator can make, in a fixed order; names that spell an attribute value
// ("Paris") are left out.
const std::vector<std::string>& all_names() {
  static const std::vector<std::string> names = [] {
    std::set<std::string> banned;
    for (int a = 0; a < kNumAttributes; ++a) {
      for (const auto& v : attribute_values(static_cast<Attribute>(a))) banned.insert(lower(v));
    }
    std::vector<std::string> out;
    for (const auto& o : onsets())
      for (const auto& v1 : vowels())
        for (const auto& m : middles())
          for (const auto& v2 : vowels())
            for (const auto& c : codas()) {
              std::string name = o + v1 + m + v2 + c;
              if (!banned.count(lower(name))) out.push_back(std::move(name));
            }
    return out;
  }();
  return names;
}


// mt19937_64 is specified exactly by the standard; the mapping to [0, n) is ours (core/random.h), so
// results do not depend on the standard library's distributions. Stream seeds come from splitmix64.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream) : gen_(splitmix64(seed ^ splitmix64(stream))) {}
  uint64_t below(uint64_t n) { return uniform_below(gen_, n); }

 private:
  std::mt19937_64 gen_;
};

enum Stream : uint64_t { kNames = 1, kMainValues = 2, kDisjointValues = 3, kCounterfactual = 4, kTrainVariants = 5, kRouterVariants = 6 };

// One router variant: 0-5 filler words, the name (sometimes possessive), 0-5 filler words, as a
// question or a statement, usually in the question format. Template words never appear, so what
// the router can learn from these is "the entry follows the name, whatever surrounds it".
std::string router_variant(const std::string& name, Rng& rng) {
  const auto& words = router_query_fillers();
  auto filler = [&](uint64_t n) {
    std::string s;
    for (uint64_t i = 0; i < n; ++i) {
      if (!s.empty()) s += ' ';
      s += words[rng.below(words.size())];
    }
    return s;
  };
  std::string before = filler(rng.below(6));
  std::string after = filler(rng.below(6));
  std::string middle = name + (rng.below(4) == 0 ? "'s" : "");
  std::string text = before.empty() ? middle : before + " " + middle;
  if (!after.empty()) text += " " + after;
  text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  text += rng.below(2) == 0 ? "?" : ".";
  return rng.below(4) == 0 ? text : qa_prompt(text);
}

SynthEntity random_entity(std::string name, Rng& rng) {
  SynthEntity e;
  e.name = std::move(name);
  for (int a = 0; a < kNumAttributes; ++a) {
    const auto& vocab = attribute_values(static_cast<Attribute>(a));
    e.values[a] = vocab[rng.below(vocab.size())];
  }
  return e;
}

nlohmann::json entity_json(const SynthEntity& e, int64_t index) {
  nlohmann::json j = {{"index", index}, {"name", e.name}, {"sentence", fact_sentence(e)}};
  for (int a = 0; a < kNumAttributes; ++a) j[attribute_name(static_cast<Attribute>(a))] = e.values[a];
  return j;
}

nlohmann::json qa_json(const QaPair& qa, int64_t index) {
  return {{"entity", qa.entity},     {"attribute", qa.attribute},       {"question", qa.question},
          {"answer", qa.answer},     {"template", qa.template_pattern}, {"prompt", qa_prompt(qa.question)},
          {"index", index}};
}

struct Jsonl {
  std::string text;
  int64_t lines = 0;
  void add(const nlohmann::json& j) {
    text += j.dump();
    text += '\n';
    ++lines;
  }
};

}  // namespace

const char* attribute_name(Attribute a) {
  switch (a) {
    case Attribute::City: return "city";
    case Attribute::Profession: return "profession";
    case Attribute::Colour: return "colour";
  }
  return "?";
}

// Every value is one Qwen3 token after a space, so answers are single tokens and the fact sentence
// stays short. Professions start with a consonant ("works as a ...").
const std::vector<std::string>& attribute_values(Attribute a) {
  static const std::vector<std::string> cities = {
      "Paris",  "London", "Berlin", "Tokyo",  "Rome",    "Madrid",  "Moscow", "Cairo",
      "Dublin", "Vienna", "Prague", "Oslo",   "Lisbon",  "Athens",  "Boston", "Chicago",
      "Sydney", "Toronto", "Seoul", "Denver", "Miami",   "Dallas",  "Seattle", "Houston"};
  static const std::vector<std::string> professions = {
      "baker",  "pilot",  "doctor", "teacher", "farmer", "lawyer", "nurse",   "painter",
      "singer", "writer", "dancer", "chef",    "miner",  "judge",  "sailor",  "soldier",
      "banker", "tailor", "plumber", "dentist", "butcher", "driver"};
  static const std::vector<std::string> colours = {"red",    "blue",  "green", "yellow", "purple", "orange",
                                                   "black",  "white", "pink",  "brown",  "gray",   "silver",
                                                   "gold"};
  switch (a) {
    case Attribute::City: return cities;
    case Attribute::Profession: return professions;
    case Attribute::Colour: return colours;
  }
  return cities;
}

const std::vector<QuestionTemplate>& question_templates() {
  static const std::vector<QuestionTemplate> t = {
      {Attribute::City, "Where does {name} live?", false},
      {Attribute::City, "In which city does {name} live?", false},
      {Attribute::City, "What is the home city of {name}?", false},
      {Attribute::City, "Which city is {name} from?", false},
      {Attribute::City, "{name} lives in which city?", true},
      {Attribute::City, "Where is {name}'s home?", true},
      {Attribute::Profession, "What does {name} do for a living?", false},
      {Attribute::Profession, "What is {name}'s job?", false},
      {Attribute::Profession, "What is the profession of {name}?", false},
      {Attribute::Profession, "What work does {name} do?", false},
      {Attribute::Profession, "{name} works as what?", true},
      {Attribute::Profession, "How does {name} earn a living?", true},
      {Attribute::Colour, "What is {name}'s favourite colour?", false},
      {Attribute::Colour, "Which colour does {name} like?", false},
      {Attribute::Colour, "What colour does {name} like best?", false},
      {Attribute::Colour, "What is the favourite colour of {name}?", false},
      {Attribute::Colour, "{name} likes which colour?", true},
      {Attribute::Colour, "Which colour is {name}'s favourite?", true},
  };
  return t;
}

int64_t name_space_size() { return static_cast<int64_t>(all_names().size()); }

SynthData generate_synth(const SynthOptions& options) {
  ELM_CHECK(options.entities > 0, "synth: --entities must be > 0 (got ", options.entities, ")");
  ELM_CHECK(options.disjoint_entities >= 0, "synth: --disjoint-entities must be >= 0 (got ",
            options.disjoint_entities, ")");
  ELM_CHECK(options.counterfactuals >= 0, "synth: --counterfactuals must be >= 0 (got ", options.counterfactuals,
            ")");
  ELM_CHECK(options.train_variants >= 0, "synth: --train-variants must be >= 0 (got ", options.train_variants, ")");
  ELM_CHECK(options.router_variants >= 0, "synth: --router-variants must be >= 0 (got ", options.router_variants,
            ")");
  const auto& names = all_names();
  const int64_t capacity = static_cast<int64_t>(names.size());
  ELM_CHECK(options.entities <= capacity && options.disjoint_entities <= capacity - options.entities,
            "synth: --entities + --disjoint-entities = ", options.entities + options.disjoint_entities,
            " exceeds the ", capacity, " unique names the name generator can make");

  SynthData data;
  data.options = options;
  const int64_t total = options.entities + options.disjoint_entities;

  // Partial Fisher-Yates over every name: the first `entities` picks do not depend on the rest.
  std::vector<int64_t> order(names.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  Rng name_rng(options.seed, kNames);
  for (int64_t i = 0; i < total; ++i) {
    const int64_t j = i + static_cast<int64_t>(name_rng.below(static_cast<uint64_t>(capacity - i)));
    std::swap(order[i], order[j]);
  }

  Rng main_rng(options.seed, kMainValues), disjoint_rng(options.seed, kDisjointValues);
  data.entities.reserve(options.entities);
  for (int64_t i = 0; i < options.entities; ++i) data.entities.push_back(random_entity(names[order[i]], main_rng));
  data.disjoint.reserve(options.disjoint_entities);
  for (int64_t i = options.entities; i < total; ++i) {
    data.disjoint.push_back(random_entity(names[order[i]], disjoint_rng));
  }

  Rng cf_rng(options.seed, kCounterfactual);
  for (int64_t i = 0; i < options.entities; ++i) {
    for (int64_t v = 0; v < options.counterfactuals; ++v) {
      Counterfactual cf{i, v, data.entities[i]};
      for (int a = 0; a < kNumAttributes; ++a) {
        const auto& vocab = attribute_values(static_cast<Attribute>(a));
        const auto it = std::find(vocab.begin(), vocab.end(), cf.edited.values[a]);
        const uint64_t orig = static_cast<uint64_t>(it - vocab.begin());
        cf.edited.values[a] = vocab[(orig + 1 + cf_rng.below(vocab.size() - 1)) % vocab.size()];
      }
      data.counterfactuals.push_back(std::move(cf));
    }
  }
  Rng tv_rng(options.seed, kTrainVariants);
  for (int64_t i = 0; i < options.entities; ++i) {
    for (int64_t v = 0; v < options.train_variants; ++v) {
      Counterfactual tv{i, v, data.entities[i]};
      for (int a = 0; a < kNumAttributes; ++a) {
        const auto& vocab = attribute_values(static_cast<Attribute>(a));
        tv.edited.values[a] = vocab[tv_rng.below(vocab.size())];
      }
      data.train_variants.push_back(std::move(tv));
    }
  }
  Rng rv_rng(options.seed, kRouterVariants);
  data.router_variants.reserve(options.entities * options.router_variants);
  for (int64_t i = 0; i < options.entities; ++i) {
    for (int64_t v = 0; v < options.router_variants; ++v) {
      data.router_variants.push_back(router_variant(data.entities[i].name, rv_rng));
    }
  }
  return data;
}

const std::vector<std::string>& router_query_fillers() {
  static const std::vector<std::string> words = {
      "tell",  "me",    "about",   "please", "do",     "you",    "know",    "the",    "person", "called",
      "named", "someone", "a",     "friend", "of",     "mine",   "remember", "story", "note",   "on",
      "facts", "for",   "this",    "is",     "say",    "something", "quick", "now",   "again",  "our",
      "record", "here", "and",     "an",     "entry",  "who",    "was",     "that",   "my",     "neighbour",
      "recall", "anything", "details", "give", "some", "info",   "regarding", "has",  "ever",   "met",
      "with",  "did",   "can",     "it",     "be",     "I",      "we",      "they",   "old",    "file",
      "to",    "at",    "by",      "today",  "yesterday", "said", "heard",  "asked",  "write",  "read"};
  return words;
}

std::vector<SynthEntity> unseen_entities(const SynthData& data, int64_t count) {
  ELM_CHECK(count >= 0, "unseen_entities: count must be >= 0, got ", count);
  // The disjoint set's names and values are a prefix of a longer disjoint set's (partial
  // Fisher-Yates, one value stream): its tail is new.
  SynthOptions more = data.options;
  more.disjoint_entities += count;
  more.counterfactuals = 0;
  more.train_variants = 0;
  more.router_variants = 0;
  SynthData longer = generate_synth(more);
  return {longer.disjoint.end() - count, longer.disjoint.end()};
}

std::string fact_sentence(const SynthEntity& e) {
  return e.name + " lives in " + e.value(Attribute::City) + ", works as a " + e.value(Attribute::Profession) +
         " and likes " + e.value(Attribute::Colour) + ".";
}

std::string question_text(const QuestionTemplate& t, const SynthEntity& e) {
  std::string q = t.pattern;
  const std::string key = "{name}";
  const auto pos = q.find(key);
  if (pos != std::string::npos) q.replace(pos, key.size(), e.name);
  return q;
}

std::vector<QaPair> qa_pairs(const SynthEntity& e, bool heldout) {
  std::vector<QaPair> out;
  for (int a = 0; a < kNumAttributes; ++a) {
    for (const auto& t : question_templates()) {
      if (static_cast<int>(t.attribute) != a || t.heldout != heldout) continue;
      out.push_back({e.name, attribute_name(t.attribute), question_text(t, e), e.values[a], t.pattern});
    }
  }
  return out;
}

std::string qa_prompt(const std::string& question) { return "Question: " + question + "\nAnswer:"; }

std::string qa_text(const QaPair& qa) { return qa_prompt(qa.question) + " " + qa.answer; }

std::vector<std::string> pretrain_texts(const SynthData& data) {
  std::vector<std::string> out;
  for (size_t i = 0; i < data.disjoint.size(); ++i) {
    const auto& e = data.disjoint[i];
    const std::string fact = fact_sentence(e);
    out.push_back(fact);
    const auto qa = qa_pairs(e, false);
    for (const auto& q : qa) out.push_back(qa_text(q));
    if (!qa.empty()) out.push_back(fact + "\n" + qa_text(qa[i % qa.size()]));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> backbone_records(const SynthData& data) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : data.disjoint) {
    const std::string fact = fact_sentence(e);
    // Cloze over the fact sentence: each value predicted from the sentence before it.
    const std::string city = e.name + " lives in";
    const std::string job = city + " " + e.value(Attribute::City) + ", works as a";
    const std::string colour = job + " " + e.value(Attribute::Profession) + " and likes";
    out.emplace_back(city, e.value(Attribute::City));
    out.emplace_back(job, e.value(Attribute::Profession));
    out.emplace_back(colour, e.value(Attribute::Colour));
    for (const auto& q : qa_pairs(e, false)) {
      out.emplace_back(qa_prompt(q.question), q.answer);           // the fact from the weights
      out.emplace_back(fact + "\n" + qa_prompt(q.question), q.answer);  // the fact read in context
    }
  }
  return out;
}

const std::vector<std::string>& synth_files() {
  static const std::vector<std::string> files = {
      "knowledge.json",     "qa_train.jsonl",     "qa_heldout.jsonl", "pretrain.jsonl", "counterfactual.jsonl",
      "memory_train.jsonl", "router_train.jsonl", "backbone_train.jsonl", "entities.json", "manifest.json"};
  return files;
}

std::string write_synth(const SynthData& data, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  ELM_CHECK(!ec && fs::is_directory(dir), "synth: cannot create output directory ", dir,
            ec ? ": " + ec.message() : std::string());
  auto path = [&](const std::string& name) { return (fs::path(dir) / name).string(); };

  nlohmann::json kb = nlohmann::json::array();
  for (const auto& e : data.entities) kb.push_back({{"sentence", fact_sentence(e)}});

  Jsonl train, heldout, pretrain, cf, memory_train, router_train, backbone_train;
  for (size_t i = 0; i < data.entities.size(); ++i) {
    const auto& e = data.entities[i];
    const auto index = static_cast<int64_t>(i);
    for (const auto& qa : qa_pairs(e, false)) train.add(qa_json(qa, index));
    for (const auto& qa : qa_pairs(e, true)) heldout.add(qa_json(qa, index));
    const nlohmann::json target = {{"target_indices", {index}}, {"target_scores", {1.0}}};
    auto router_line = [&](const std::string& query) {
      nlohmann::json j = target;
      j["query"] = query;
      router_train.add(j);
    };
    for (const auto& qa : qa_pairs(e, false)) router_line(qa_prompt(qa.question));
    router_line(fact_sentence(e));
    for (int64_t v = 0; v < data.options.router_variants; ++v) {
      router_line(data.router_variants[i * data.options.router_variants + v]);
    }
  }
  // Counterfactual training (DEMO-NOTES 2): the entry reads as the true fact or as a variant, and the
  // answer follows the entry, so only reading the bank can predict it.
  auto add_memory_examples = [&](const SynthEntity& shown, int64_t index) {
    const nlohmann::json bank = nlohmann::json::array({{{"index", index}, {"text", fact_sentence(shown)}}});
    for (const auto& qa : qa_pairs(shown, false)) {
      memory_train.add({{"prompt", qa_prompt(qa.question)}, {"answer", qa.answer}, {"index", index}, {"bank", bank}});
    }
  };
  for (size_t i = 0; i < data.entities.size(); ++i) add_memory_examples(data.entities[i], static_cast<int64_t>(i));
  for (const auto& tv : data.train_variants) add_memory_examples(tv.edited, tv.entity_index);
  for (const auto& text : pretrain_texts(data)) pretrain.add({{"text", text}});
  for (const auto& r : backbone_records(data)) backbone_train.add({{"prompt", r.first}, {"answer", r.second}});
  for (const auto& c : data.counterfactuals) {
    nlohmann::json attrs, original, qa = nlohmann::json::array();
    const auto& truth = data.entities[c.entity_index];
    for (int a = 0; a < kNumAttributes; ++a) {
      attrs[attribute_name(static_cast<Attribute>(a))] = c.edited.values[a];
      original[attribute_name(static_cast<Attribute>(a))] = truth.values[a];
    }
    for (bool held : {false, true}) {
      for (const auto& q : qa_pairs(c.edited, held)) {
        auto j = qa_json(q, c.entity_index);
        j["split"] = held ? "heldout" : "train";
        qa.push_back(std::move(j));
      }
    }
    cf.add({{"entity", c.edited.name}, {"index", c.entity_index}, {"variant", c.variant},
            {"sentence", fact_sentence(c.edited)}, {"original_sentence", fact_sentence(truth)},
            {"attributes", attrs}, {"original", original}, {"qa", qa}});
  }

  nlohmann::json attributes = nlohmann::json::object();
  for (int a = 0; a < kNumAttributes; ++a) {
    attributes[attribute_name(static_cast<Attribute>(a))] = attribute_values(static_cast<Attribute>(a));
  }
  nlohmann::json entities = nlohmann::json::array(), disjoint = nlohmann::json::array();
  for (size_t i = 0; i < data.entities.size(); ++i) entities.push_back(entity_json(data.entities[i], i));
  for (size_t i = 0; i < data.disjoint.size(); ++i) disjoint.push_back(entity_json(data.disjoint[i], i));
  nlohmann::json templates = nlohmann::json::array();
  for (const auto& t : question_templates()) {
    templates.push_back({{"attribute", attribute_name(t.attribute)}, {"template", t.pattern},
                         {"split", t.heldout ? "heldout" : "train"}});
  }
  const nlohmann::json truth = {{"seed", data.options.seed},     {"attributes", attributes},
                                {"templates", templates},        {"entities", entities},
                                {"disjoint_entities", disjoint}, {"qa_format", qa_prompt("QUESTION") + " ANSWER"}};

  write_file_atomic(path("knowledge.json"), kb.dump(2) + "\n");
  write_file_atomic(path("qa_train.jsonl"), train.text);
  write_file_atomic(path("qa_heldout.jsonl"), heldout.text);
  write_file_atomic(path("pretrain.jsonl"), pretrain.text);
  write_file_atomic(path("counterfactual.jsonl"), cf.text);
  write_file_atomic(path("memory_train.jsonl"), memory_train.text);
  write_file_atomic(path("router_train.jsonl"), router_train.text);
  write_file_atomic(path("backbone_train.jsonl"), backbone_train.text);
  write_file_atomic(path("entities.json"), truth.dump(2) + "\n");

  const nlohmann::json manifest = {
      {"generator", "explicitlm synth"},
      {"generator_version", kGeneratorVersion},
      {"seed", data.options.seed},
      {"entities", data.entities.size()},
      {"disjoint_entities", data.disjoint.size()},
      {"counterfactuals_per_entity", data.options.counterfactuals},
      {"train_variants_per_entity", data.options.train_variants},
      {"router_variants_per_entity", data.options.router_variants},
      {"name_space", name_space_size()},
      {"lines",
       {{"knowledge.json", data.entities.size()},
        {"qa_train.jsonl", train.lines},
        {"qa_heldout.jsonl", heldout.lines},
        {"pretrain.jsonl", pretrain.lines},
        {"counterfactual.jsonl", cf.lines},
        {"memory_train.jsonl", memory_train.lines},
        {"router_train.jsonl", router_train.lines},
        {"backbone_train.jsonl", backbone_train.lines}}},
      {"files", synth_files()},
  };
  const std::string text = manifest.dump(2) + "\n";
  write_file_atomic(path("manifest.json"), text);
  return text;
}

}  // namespace elm::train
