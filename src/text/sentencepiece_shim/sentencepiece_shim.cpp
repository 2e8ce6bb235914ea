// libelm_sentencepiece.so: see sentencepiece_shim.h. Only this file includes sentencepiece headers.
#include "sentencepiece_shim.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

struct elm_spm {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {

char* copy_string(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out != nullptr) {
    std::memcpy(out, s.data(), s.size());
    out[s.size()] = '\0';
  }
  return out;
}

void set_error(char** error, const std::string& message) {
  if (error != nullptr) *error = copy_string(message);
}

class Sentences : public sentencepiece::SentenceIterator {
 public:
  Sentences(const char* const* lines, size_t n) : lines_(lines), n_(n) { load(); }
  bool done() const override { return i_ >= n_; }
  void Next() override {
    ++i_;
    load();
  }
  const std::string& value() const override { return current_; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

 private:
  void load() {
    if (i_ < n_) current_ = lines_[i_];
  }
  const char* const* lines_;
  size_t n_;
  size_t i_ = 0;
  std::string current_;
};

}  // namespace

extern "C" {

elm_spm* elm_spm_load(const char* path, char** error) {
  auto* model = new elm_spm();
  const auto status = model->processor.Load(path);
  if (!status.ok()) {
    set_error(error, status.ToString());
    delete model;
    return nullptr;
  }
  return model;
}

void elm_spm_free(elm_spm* model) { delete model; }

int elm_spm_piece_size(const elm_spm* model) { return model->processor.GetPieceSize(); }

int elm_spm_piece_to_id(const elm_spm* model, const char* piece, size_t size) {
  return model->processor.PieceToId(std::string(piece, size));
}

const char* elm_spm_id_to_piece(const elm_spm* model, int id, size_t* size) {
  const std::string& piece = model->processor.IdToPiece(id);
  *size = piece.size();
  return piece.data();
}

int elm_spm_is_unknown(const elm_spm* model, int id) { return model->processor.IsUnknown(id) ? 1 : 0; }
int elm_spm_is_control(const elm_spm* model, int id) { return model->processor.IsControl(id) ? 1 : 0; }

int elm_spm_encode(const elm_spm* model, const char* text, size_t size,
                   void (*emit)(void* context, const char* piece, size_t piece_size, int id), void* context,
                   char** error) {
  std::vector<std::string> pieces;
  const auto status = model->processor.Encode(std::string(text, size), &pieces);
  if (!status.ok()) {
    set_error(error, status.ToString());
    return 1;
  }
  // HF's slow tokenizer: piece strings first, then PieceToId for each (unknown text -> id 0).
  for (const auto& p : pieces) emit(context, p.data(), p.size(), model->processor.PieceToId(p));
  return 0;
}

int elm_spm_train(const char* const* keys, const char* const* values, size_t num_options, const char* const* sentences,
                  size_t num_sentences, unsigned int seed, char** model_bytes, size_t* model_size, char** error) {
  std::unordered_map<std::string, std::string> options;
  for (size_t i = 0; i < num_options; ++i) options[keys[i]] = values[i];
  sentencepiece::SetRandomGeneratorSeed(seed);
  Sentences it(sentences, num_sentences);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(options, &it, &model);
  if (!status.ok()) {
    set_error(error, status.ToString());
    return 1;
  }
  *model_bytes = static_cast<char*>(std::malloc(model.size() == 0 ? 1 : model.size()));
  if (*model_bytes == nullptr) {
    set_error(error, "out of memory");
    return 1;
  }
  std::memcpy(*model_bytes, model.data(), model.size());
  *model_size = model.size();
  return 0;
}

void elm_spm_free_string(char* s) { std::free(s); }

}  // extern "C"
