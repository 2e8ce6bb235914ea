#include "text/tiny_tokenizers.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"
#include "text/bert_text.h"
#include "text/sentencepiece_library.h"
#include "text/unicode.h"

namespace elm::text {

const std::vector<std::string>& tiny_corpus() {
  static const std::vector<std::string> corpus = {
      "The quick brown fox jumps over the lazy dog.",
      "Paris is the capital of France, and Berlin is the capital of Germany.",
      "Marie Curie was born in Warsaw in 1867; she won two Nobel prizes.",
      "The meeting started at 9:30 and ended at noon.",
      "Did you read the report? It was long, but very useful!",
      "We will review the budget, the schedule and the staffing plan next week.",
      "The committee approved the proposal after a short discussion.",
      "Water boils at 100 degrees Celsius at sea level.",
      "Mount Everest is the highest mountain on Earth.",
      "The river flows through the city and into the sea.",
      "She said that the new library would open in the spring.",
      "Please send the final numbers to the finance team before Friday.",
      "Tokyo is a large city in Japan; its name is written 東京.",
      "The café on the corner serves coffee, tea and fresh bread.",
      "Our team finished the project early, which surprised everyone.",
      "The council voted seven to two in favour of the new park.",
      "Researchers measured the temperature every hour for three days.",
      "Can we move the call to Tuesday afternoon?",
      "The museum opened in 1902 and holds more than ten thousand paintings.",
      "He walked slowly, looking at the old houses along the street.",
      "The company reported higher sales in the second quarter.",
      "Rain is expected tomorrow, so bring an umbrella!",
      "The train from London arrives at platform four at 6:15.",
      "Students asked many questions about the history of the region.",
      "The mayor thanked the volunteers for their hard work.",
      "A cat slept quietly on the warm windowsill.",
      "The engineers tested the bridge before it opened to traffic.",
      "Lisbon, Madrid and Rome are capitals in southern Europe.",
      "The doctor recommended rest, water and a light meal.",
      "Everyone agreed that the plan was simple, clear and cheap.",
      "The orchestra played a symphony by Beethoven last night.",
      "Farmers planted wheat and corn in the northern fields.",
      "The speaker explained how the new system works in practice.",
      "Our office is closed on public holidays.",
      "The children were playing football in the park after school.",
      "The results will be published in the journal next month.",
      "Amsterdam is known for its canals, bicycles and museums.",
      "The board meeting was moved from Monday to Wednesday.",
      "The scientist wrote a short summary of the main findings.",
      "Thank you for your help; we could not have done it without you.",
      "The state-of-the-art system (version 2) is \"fast\", and it's cheap - isn't it?",
      "Sales rose 12% to $4.5 million [see table 3] in 2023 .",
  };
  return corpus;
}

WordPieceSpec tiny_wordpiece_spec(int num_new_tokens, int num_words) {
  ELM_CHECK(num_new_tokens >= 0 && num_words >= 0, "tiny WordPiece vocabulary: negative sizes");
  WordPieceSpec spec;
  std::vector<std::string> tokens;
  tokens.push_back("[PAD]");
  for (int i = 1; i < 100; ++i) tokens.push_back("[unused" + std::to_string(i) + "]");
  for (const char* s : {"[UNK]", "[CLS]", "[SEP]", "[MASK]"}) tokens.push_back(s);

  std::set<std::string> chars;
  std::map<std::string, int> counts;
  for (const auto& line : tiny_corpus()) {
    for (const auto& word : bert_pre_tokenize(bert_normalize(line))) {
      ++counts[word];
      for (std::size_t i = 0; i < word.size();) {
        const std::size_t start = i;
        decode_utf8(word, i);
        chars.insert(word.substr(start, i - start));
      }
    }
  }
  std::set<std::string> seen(tokens.begin(), tokens.end());
  auto add = [&](const std::string& t) {
    if (seen.insert(t).second) tokens.push_back(t);
  };
  for (const auto& c : chars) add(c);
  for (const auto& c : chars) add("##" + c);
  for (const char* s : {"##s", "##ed", "##ing", "##er", "##ly", "##ion", "##al", "##es"}) add(s);
  std::vector<std::pair<std::string, int>> by_count(counts.begin(), counts.end());
  std::stable_sort(by_count.begin(), by_count.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  int taken = 0;
  for (const auto& [word, n] : by_count) {
    if (taken >= num_words) break;
    if (word.size() < 2) continue;  // single characters are already in
    add(word);
    ++taken;
  }
  for (std::size_t i = 0; i < tokens.size(); ++i) spec.vocab.emplace_back(tokens[i], static_cast<std::int32_t>(i));
  // The specials are added tokens in HF's files too: matched literally, never split.
  spec.added.push_back({"[PAD]", 0, true});
  spec.added.push_back({"[UNK]", 100, true});
  spec.added.push_back({"[CLS]", 101, true});
  spec.added.push_back({"[SEP]", 102, true});
  spec.added.push_back({"[MASK]", 103, true});
  for (int i = 0; i < num_new_tokens; ++i) {
    spec.added.push_back({"[NEW" + std::to_string(i) + "]", static_cast<std::int32_t>(tokens.size()) + i, true});
  }
  return spec;
}

std::string train_tiny_sentencepiece(std::uint64_t seed, int vocab_size) {
  ELM_CHECK(vocab_size >= 16, "tiny SentencePiece model: vocab_size must be >= 16, got ", vocab_size);
  const std::vector<std::pair<std::string, std::string>> options = {
      {"model_type", "unigram"},
      {"vocab_size", std::to_string(vocab_size)},
      {"hard_vocab_limit", "false"},  // the corpus is small: fewer pieces are fine
      {"character_coverage", "1.0"},
      {"normalization_rule_name", "nmt_nfkc"},
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", "-1"},
      {"num_threads", "1"},
      {"shuffle_input_sentence", "false"},
      {"minloglevel", "2"},
  };
  const std::string model = train_sentencepiece(options, tiny_corpus(), static_cast<std::uint32_t>(seed));
  ELM_CHECK(!model.empty(), "SentencePiece training produced no model");
  return model;
}

}  // namespace elm::text
