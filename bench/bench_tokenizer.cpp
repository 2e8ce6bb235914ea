// Tokenizer throughput: load time, encode and decode MB/s on a few MB of mixed text (English prose,
// code, CJK, digits, emoji), and the speed-up over a naive baseline (no word cache, textbook
// O(n^2) merge loop) measured in the same run. Prints one JSON line per measurement; asserts no
// timings.
//
// Usage: bench_tokenizer [tokenizer.json or its directory] [corpus MB, default 4]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "text/tokenizer.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string default_tokenizer_path() {
  if (const char* env = std::getenv("ELM_TOKENIZER")) return env;
  // bench/bench_tokenizer.cpp -> <source>/data/tokenizers/qwen3
  const auto from_source = std::filesystem::path(__FILE__).parent_path().parent_path() / "data" /
                           "tokenizers" / "qwen3";
  if (std::filesystem::exists(from_source)) return from_source.string();
  return "data/tokenizers/qwen3";
}

std::string make_corpus(std::size_t target_bytes) {
  static const char* prose[] = {
      "The committee reviewed the proposal in detail and asked for a revised budget. ",
      "She didn't think they'd finish before the deadline, but they're almost done. ",
      "Transformers process tokens in parallel, which makes training efficient on GPUs. ",
      "In 1969, 600 million people watched the landing; it's still remembered today. ",
      "Well-formed UTF-8 never contains surrogates, overlong forms or bytes above F4. ",
      "\"Quotes\", (parentheses), [brackets] and {braces} appear in ordinary text too. ",
  };
  static const char* code[] = {
      "for (int i = 0; i < n; ++i) {\n    sum += values[i] * weights[i];\n}\n",
      "def tokenize(text: str) -> list[int]:\n    return [vocab[t] for t in text.split()]\n",
      "    if (!ok) {\n        throw std::runtime_error(\"failed: \" + path);\n    }\n",
      "SELECT id, name FROM users WHERE created_at > '2024-01-01' ORDER BY id;\n",
  };
  static const char* cjk[] = {
      "\xE4\xBB\x8A\xE5\xA4\xA9\xE5\xA4\xA9\xE6\xB0\x94\xE5\xBE\x88\xE5\xA5\xBD\xEF\xBC\x8C"
      "\xE6\x88\x91\xE4\xBB\xAC\xE5\x8E\xBB\xE5\x85\xAC\xE5\x9B\xAD\xE6\x95\xA3\xE6\xAD\xA5\xE3\x80\x82",
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88"
      "\xE3\x82\x82\xE5\x90\xAB\xE3\x81\xBE\xE3\x82\x8C\xE3\x81\xBE\xE3\x81\x99\xE3\x80\x82",
      "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4 \xED\x85\x8D\xEC\x8A\xA4\xED\x8A\xB8\xEC\x9E\x85\xEB\x8B\x88\xEB\x8B\xA4. ",
  };
  static const char* other[] = {
      "3.14159265358979 2.718281828 1,234,567 0x1F 2024-06-30 ",
      "\xF0\x9F\x98\x80 \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7 \xF0\x9F\x87\xBA\xF0\x9F\x87\xB8 ",
      "Caf\xC3\xA9 na\xC3\xAFve r\xC3\xA9sum\xC3\xA9 \xC3\x9C" "ber Stra\xC3\x9F" "e ",
      "\n\n",
  };
  std::mt19937 rng(1234);
  std::string out;
  out.reserve(target_bytes + 256);
  while (out.size() < target_bytes) {
    const unsigned r = rng() % 10;
    if (r < 5) {
      out += prose[rng() % 6];
    } else if (r < 7) {
      out += code[rng() % 4];
    } else if (r < 9) {
      out += cjk[rng() % 3];
    } else {
      out += other[rng() % 4];
    }
    if (rng() % 50 == 0) out += std::to_string(rng());  // occasional long digit runs
  }
  return out;
}

void emit(const char* metric, double seconds, std::size_t bytes, std::size_t tokens, const char* extra = "") {
  std::printf(
      "{\"bench\":\"tokenizer\",\"metric\":\"%s\",\"seconds\":%.6f,\"bytes\":%zu,\"tokens\":%zu,"
      "\"mb_per_s\":%.3f%s}\n",
      metric, seconds, bytes, tokens, seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0.0,
      extra);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : default_tokenizer_path();
  const double mb = argc > 2 ? std::atof(argv[2]) : 4.0;
  try {
    auto t0 = Clock::now();
    const auto tok = elm::text::Tokenizer::load(path);
    const double load_s = seconds_since(t0);
    std::printf("{\"bench\":\"tokenizer\",\"metric\":\"load\",\"seconds\":%.6f,\"vocab_size\":%d}\n", load_s,
                tok.vocab_size());

    const std::string corpus = make_corpus(static_cast<std::size_t>(mb * 1e6));

    t0 = Clock::now();
    const auto ids = tok.encode(corpus);
    emit("encode_cold_cache", seconds_since(t0), corpus.size(), ids.size());

    t0 = Clock::now();
    const auto ids_warm = tok.encode(corpus);
    const double warm_s = seconds_since(t0);
    emit("encode_warm_cache", warm_s, corpus.size(), ids_warm.size());

    t0 = Clock::now();
    const auto ids_naive = tok.encode_naive(corpus);
    const double naive_s = seconds_since(t0);
    char extra[96];
    std::snprintf(extra, sizeof extra, ",\"speedup_vs_naive\":%.2f,\"same_ids\":%s",
                  warm_s > 0 ? naive_s / warm_s : 0.0, ids_naive == ids ? "true" : "false");
    emit("encode_naive_baseline", naive_s, corpus.size(), ids_naive.size(), extra);

    t0 = Clock::now();
    const std::string text = tok.decode(ids);
    emit("decode", seconds_since(t0), text.size(), ids.size(),
         text == corpus ? ",\"round_trip\":true" : ",\"round_trip\":false");

    t0 = Clock::now();
    elm::text::StreamDecoder stream(tok);
    std::size_t streamed = 0;
    for (std::int32_t id : ids) streamed += stream.push(id).size();
    streamed += stream.flush().size();
    emit("stream_decode", seconds_since(t0), streamed, ids.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_tokenizer: %s\n", e.what());
    return 1;
  }
  return 0;
}
