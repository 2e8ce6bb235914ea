#pragma once
// Synthetic knowledge for the bank demo (`explicitlm synth`): invented entities with three
// attributes (home city, profession, favourite colour), one fact sentence per entity for the bank,
// question/answer pairs in several phrasings (train and held-out templates kept apart),
// counterfactual variants (the same entity with other attribute values) and a disjoint entity set
// (other names, same templates) for teaching the backbone the question format.
//
// Everything follows from the seed through an explicit PRNG (std::mt19937_64 with our own
// uniform-int mapping), so the same seed gives byte-identical files on every standard library.
// Entities do not depend on --counterfactuals, and the main entity set does not depend on
// --disjoint-entities. See docs/synth.md.
#include <cstdint>
#include <string>
#include <vector>

namespace elm::train {

// The attributes every entity has, in this order.
enum class Attribute { City = 0, Profession = 1, Colour = 2 };
inline constexpr int kNumAttributes = 3;
const char* attribute_name(Attribute a);           // "city", "profession", "colour"
const std::vector<std::string>& attribute_values(Attribute a);  // the value vocabulary

struct SynthEntity {
  std::string name;
  std::string values[kNumAttributes];  // indexed by Attribute
  const std::string& value(Attribute a) const { return values[static_cast<int>(a)]; }
};

// A question template: "{name}" is replaced by the entity's name.
struct QuestionTemplate {
  Attribute attribute;
  std::string pattern;
  bool heldout;  // never used in training text
};
const std::vector<QuestionTemplate>& question_templates();

struct QaPair {
  std::string entity, attribute, question, answer, template_pattern;
};

struct Counterfactual {
  int64_t entity_index;  // index into SynthData::entities (= the row of knowledge.json)
  int64_t variant;
  SynthEntity edited;    // same name, every attribute value differs from the true one
};

struct SynthOptions {
  uint64_t seed = 0;
  int64_t entities = 1000;           // the bank's entities (facts only in the bank)
  int64_t disjoint_entities = 1000;  // other entities, for backbone pretraining
  int64_t counterfactuals = 4;       // variants per bank entity (evaluation edits)
  int64_t train_variants = 4;        // random variants per bank entity for counterfactual training
  int64_t router_variants = 0;       // name-in-random-context router queries per bank entity
};

struct SynthData {
  SynthOptions options;
  std::vector<SynthEntity> entities;
  std::vector<SynthEntity> disjoint;
  std::vector<Counterfactual> counterfactuals;
  // Training variants (an independent stream from the evaluation edits): per entity, each attribute
  // drawn uniformly (it may equal the true value). entity_index/variant as in Counterfactual.
  std::vector<Counterfactual> train_variants;
  // Router queries that hold the entity's name in random filler text (router_query_fillers()),
  // router_variants per bank entity, entity-major: entry i*V + v belongs to entity i.
  std::vector<std::string> router_variants;
};

// The words router variants are made of: neutral filler that shares no content word with any
// question template (no attribute word, no "which", "where", "what", "how", ...), so the router
// learns to ignore the words around a name without ever seeing a question phrasing it is tested on.
const std::vector<std::string>& router_query_fillers();

// How many unique names the name generator can make (the limit on entities + disjoint_entities).
int64_t name_space_size();

// Throws elm::Error on bad options (entities <= 0, negative counts, more names than the name space).
SynthData generate_synth(const SynthOptions& options);

// `count` entities whose names appear nowhere in `data` (neither the bank's nor the disjoint set):
// the names that come next in the same seeded order, with attribute values of their own. What a
// model trained on `data` has never seen (the inference path's new facts).
std::vector<SynthEntity> unseen_entities(const SynthData& data, int64_t count);

// "Pundil lives in Lisbon, works as a pilot and likes green." -- at most 16 Qwen3 tokens.
std::string fact_sentence(const SynthEntity& e);
std::string question_text(const QuestionTemplate& t, const SynthEntity& e);
// Every (attribute, template) pair of one split for one entity, attributes in order.
std::vector<QaPair> qa_pairs(const SynthEntity& e, bool heldout);

// The question format of training text and generative evaluation:
//   qa_prompt(q) = "Question: " + q + "\nAnswer:"   and the target is " " + answer.
std::string qa_prompt(const std::string& question);
std::string qa_text(const QaPair& qa);  // qa_prompt(question) + " " + answer

// The pretraining lines for the disjoint set: per entity its fact sentence, then every train-template
// QA pair in the question format, then the fact followed by one QA pair (reading in context).
std::vector<std::string> pretrain_texts(const SynthData& data);

// The backbone stage's qa records (prompt, answer) for the disjoint set: per entity, the cloze of
// each value in its fact sentence, and every train-template question asked alone and after the
// fact (reading in context). Loss lands on the answers only, so a step costs a few lm_head rows.
std::vector<std::pair<std::string, std::string>> backbone_records(const SynthData& data);

// Writes knowledge.json, qa_train.jsonl, qa_heldout.jsonl, pretrain.jsonl, counterfactual.jsonl,
// memory_train.jsonl (qa format: train-template questions of every bank entity with the bank entry
// overridden by the true fact and by each training variant, the answer following the entry),
// router_train.jsonl (router format: train-template prompts, the fact sentence and the router
// variants of every bank entity -> its entry), backbone_train.jsonl (qa format: backbone_records), entities.json and
// manifest.json into dir (created), each atomically. Returns the manifest JSON text.
std::string write_synth(const SynthData& data, const std::string& dir);

// The file names write_synth produces, in write order (manifest.json last).
const std::vector<std::string>& synth_files();

}  // namespace elm::train
