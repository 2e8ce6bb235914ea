#include "infer/compressor.h"

#include <chrono>

#include "core/error.h"
#include "infer/llmlingua2.h"

namespace elm::infer {

Compression PassthroughCompressor::compress(const std::string& text) const {
  const auto start = std::chrono::steady_clock::now();
  Compression out;
  out.text = text;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

std::unique_ptr<Compressor> make_compressor(const elm::Config& config) {
  const std::string& kind = config.get_string("extractor.kind");
  if (kind == "passthrough") return std::make_unique<PassthroughCompressor>();
  if (kind == "llmlingua2") return std::make_unique<LlmLingua2Compressor>(LlmLingua2Options::from_config(config));
  fail("extractor.kind '", kind, "' is not one of: passthrough, llmlingua2");
}

}  // namespace elm::infer
