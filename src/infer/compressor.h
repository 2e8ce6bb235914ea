#pragma once
// The fact extractor's compressor (ARCHITECTURE.md section 6, docs/extractor.md): "passthrough"
// returns its input; "llmlingua2" keeps the words an LLMLingua-2 token classifier rates most
// informative (SPECS.md section 3). compress() is const and keeps no mutable state, so it may run
// on a worker thread while another thread generates with LibTorch.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"

namespace elm::infer {

struct CompressedWord {
  std::string text;   // the word as LLMLingua-2 lists it (pieces merged, "▁" stripped, [NEWi] restored)
  double prob = 0;    // the probability the keep threshold saw: the mean keep probability of its
                      // tokens, 1.0 for a force word, 0.0 for a repeat drop_consecutive removed
  bool keep = false;  // label 1
  bool force = false; // a force token (probability forced to 1.0)
};

struct Compression {
  std::string text;                    // the compressed text
  std::vector<CompressedWord> words;   // per word, in order (empty for passthrough)
  int64_t chunks = 0, input_tokens = 0;
  double seconds = 0;
  std::vector<double> thresholds;      // the keep threshold of each chunk (NaN for a chunk without words)
};

class Compressor {
 public:
  virtual ~Compressor() = default;
  virtual std::string name() const = 0;                       // "llmlingua2" or "passthrough"
  virtual Compression compress(const std::string& text) const = 0;
};

// Returns the text unchanged (the sentence split happens in the caller).
class PassthroughCompressor final : public Compressor {
 public:
  std::string name() const override { return "passthrough"; }
  Compression compress(const std::string& text) const override;
};

// Built from the [extractor] config keys (extractor.kind chooses; llmlingua2 with a missing or bad
// model is an error, never a silent passthrough). Errors name the key or the file.
std::unique_ptr<Compressor> make_compressor(const elm::Config& config);

}  // namespace elm::infer
