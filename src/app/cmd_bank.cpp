// explicitlm bank build|show|find|set|stats: the memory bank file (HDF5) from the command line.
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/cli_args.h"
#include "app/commands.h"
#include "app/runtime.h"
#include "app/tokenizer_path.h"
#include "core/error.h"
#include "core/logging.h"
#include "memory/bank.h"
#include "memory/knowledge_base.h"
#include "text/tokenizer.h"

namespace elm::app {
namespace {

using nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// `bank SUB BANK.h5 ...`: the bank file is the first argument after the subcommand.
std::string take_bank_path(const std::string& sub, Args& args) {
  return take_leading_path(args, "explicitlm bank " + sub + ": missing the bank file (usage: explicitlm bank " + sub +
                                     " BANK.h5 ...; see --help)");
}

text::Tokenizer load_tokenizer_or_fail(const std::string& path) {
  ELM_CHECK(!path.empty(), "no tokenizer: pass --tokenizer PATH (run tools/setup.sh to export the Qwen3 one)");
  return text::Tokenizer::load(path);
}

int64_t checked_index(const ArgParser& p, const std::string& bank_path, int64_t n) {
  const int64_t index = parse_int(p.get("--index"), "--index");
  ELM_CHECK(index >= 0 && index < n, "bank file ", bank_path, ": --index ", index, " is outside the bank [0, ", n,
            ")");
  return index;
}

int run_build(Args args) {
  ArgParser p("bank build",
              "--kb FILE --out BANK.h5 [--tokenizer PATH] [--knowledge-num N] [--knowledge-length L] [--truncate-kb]",
              "Builds a memory bank file (HDF5) from a knowledge base: fact i becomes entry i, tokenised without\n"
              "special tokens and truncated or padded with <|endoftext|> to L ids; rows after the last fact\n"
              "are empty and invalid. Entry i is product-key grid cell (i / sqrt(N), i % sqrt(N)), so N must\n"
              "be a perfect square. Prints a JSON summary.");
  p.option("--kb", "FILE",
           "knowledge base: JSON array of {\"sentence\"}, TREx {\"target\": [...]}, or JSONL {\"text\"} "
           "(default: model.database_init_path)")
      .option("--out", "BANK.h5", "the bank file, written atomically (default: model.cache_path)")
      .option("--tokenizer", "PATH",
              "tokenizer.json or a directory holding one (default: model.qwen3_model_path, else the exported Qwen3 one)")
      .option("--knowledge-num", "N", "entries N, a perfect square (default: model.knowledge_num)")
      .option("--knowledge-length", "L", "ids per entry L (default: model.knowledge_length)")
      .flag("--truncate-kb", "keep the first N facts when the knowledge base has more (default: an error)")
      .examples("  explicitlm bank build --kb data/kb.json --knowledge-num 16 --knowledge-length 16 --out /tmp/bank.h5\n"
                "  explicitlm bank build --config configs/tiny.toml --kb trex.json --out bank.h5 model.knowledge_num=1048576");
  if (!p.parse(args)) return 0;
  Config config = p.config();
  const std::string cli = "command line";
  if (auto v = p.maybe("--knowledge-num")) config.set("model.knowledge_num", parse_int(*v, "--knowledge-num"), cli);
  if (auto v = p.maybe("--knowledge-length")) {
    config.set("model.knowledge_length", parse_int(*v, "--knowledge-length"), cli);
  }
  if (auto v = p.maybe("--kb")) config.set("model.database_init_path", *v, cli);
  if (auto v = p.maybe("--out")) config.set("model.cache_path", *v, cli);
  Runtime rt = start_runtime("bank-build", std::move(config));
  const Config& c = rt.config;
  const std::string kb_path = c.get_string("model.database_init_path");
  const std::string out = c.get_string("model.cache_path");
  ELM_CHECK(!kb_path.empty(), "explicitlm bank build: missing --kb FILE (or model.database_init_path)");
  ELM_CHECK(!out.empty(), "explicitlm bank build: missing --out BANK.h5 (or model.cache_path)");
  const int64_t n = c.get_int("model.knowledge_num"), l = c.get_int("model.knowledge_length");
  memory::checked_grid_side(n);  // fail before reading anything

  const text::Tokenizer tokenizer = load_tokenizer_or_fail(
      resolve_tokenizer_path(p.get_or("--tokenizer", ""), c.get_string("model.qwen3_model_path")));
  const memory::KnowledgeBase kb = memory::read_knowledge_base(kb_path);
  const memory::MemoryBank bank =
      memory::build_bank(kb.facts, tokenizer, n, l, memory::default_pad_id(tokenizer),
                         memory::BankSource{kb_path, memory::fingerprint_file(kb_path)}, p.has("--truncate-kb"));
  memory::save_bank(out, bank);
  const memory::BankStats s = memory::bank_stats(bank);
  ELM_LOG(info) << "bank: wrote " << out << " (" << n << " x " << l << ", " << s.valid << " valid, " << s.truncated
                << " truncated)";
  std::cout << dump({{"out", out},
                     {"kb", kb_path},
                     {"kb_format", memory::to_string(kb.format)},
                     {"facts", kb.facts.size()},
                     {"num_entries", n},
                     {"entry_length", l},
                     {"pad_id", bank.meta.pad_id},
                     {"valid", s.valid},
                     {"truncated", s.truncated}})
            << "\n";
  return 0;
}

int run_show(Args args) {
  const std::string bank_path = take_bank_path("show", args);
  ArgParser p("bank show", "BANK.h5 --index I [--count K] [--json] [--tokenizer PATH]",
              "Prints entries I .. I+K-1: index, grid cell, validity, the L ids, the source text and the ids decoded\n"
              "with the tokenizer (the one recorded in the file unless --tokenizer). Only those rows are read.");
  p.option("--index", "I", "first entry (0-based)")
      .option("--count", "K", "number of entries (default 1)")
      .option("--tokenizer", "PATH", "decode with this tokenizer (default: the path recorded in the bank)")
      .flag("--json", "one JSON object per entry and line")
      .examples("  explicitlm bank show bank.h5 --index 5\n  explicitlm bank show bank.h5 --index 0 --count 10 --json");
  if (!p.parse(args)) return 0;
  Runtime rt = start_runtime("bank-show", p.config());
  const memory::BankInfo info = memory::read_bank_info(bank_path);
  const int64_t index = checked_index(p, bank_path, info.num_entries);
  const int64_t count = p.get_int("--count", 1);
  ELM_CHECK(count >= 1, "explicitlm bank show: --count ", count, " must be >= 1");
  ELM_CHECK(count <= info.num_entries - index, "bank file ", bank_path, ": entries [", index, ", ", index + count,
            ") go past the end of the bank [0, ", info.num_entries, ")");
  const memory::MemoryBank rows = memory::read_bank_rows(bank_path, index, count);

  std::optional<text::Tokenizer> tokenizer;
  const std::string tok_path = p.get_or("--tokenizer", info.meta.tokenizer_path);
  try {
    tokenizer = text::Tokenizer::load(tok_path);
  } catch (const Error& e) {
    if (p.has("--tokenizer")) throw;
    ELM_LOG(warning) << "cannot load the bank's tokenizer (" << e.what() << "); showing ids and source text only";
  }
  const int64_t side = memory::checked_grid_side(info.num_entries);
  for (int64_t k = 0; k < count; ++k) {
    const int64_t i = index + k;
    const torch::Tensor row = rows.tokens[k].contiguous();
    std::vector<int32_t> ids(row.data_ptr<int32_t>(), row.data_ptr<int32_t>() + info.entry_length);
    std::vector<int32_t> content;
    for (int32_t id : ids) {
      if (id != info.meta.pad_id) content.push_back(id);
    }
    const bool valid = rows.valid[k].item<bool>();
    const std::string& source = rows.texts[static_cast<size_t>(k)];
    const int32_t token_count = rows.token_counts[static_cast<size_t>(k)];
    const bool truncated = token_count > info.entry_length;
    if (p.has("--json")) {
      json j = {{"index", i},
                {"cell", {i / side, i % side}},
                {"valid", valid},
                {"ids", ids},
                {"length", content.size()},
                {"token_count", token_count},
                {"truncated", truncated},
                {"text", source}};
      if (tokenizer) j["decoded"] = tokenizer->decode(content);
      std::cout << dump(j) << "\n";
      continue;
    }
    std::cout << "entry " << i << "  cell (" << i / side << ", " << i % side << ")  "
              << (valid ? "valid" : "invalid") << "  " << content.size() << "/" << info.entry_length << " ids"
              << (truncated ? str_cat(" (truncated from ", token_count, ")") : "") << "\n";
    std::cout << "  ids:     " << dump(ids) << "\n";
    std::cout << "  text:    " << source << "\n";
    if (tokenizer) std::cout << "  decoded: " << tokenizer->decode(content) << "\n";
  }
  return 0;
}

int run_find(Args args) {
  const std::string bank_path = take_bank_path("find", args);
  ArgParser p("bank find", "BANK.h5 --text SUBSTRING [--json] [--limit K]",
              "Prints the entries whose source text contains SUBSTRING (case-sensitive, byte-wise), one\n"
              "`INDEX<TAB>TEXT` line each, or with --json one object {\"text\", \"count\", \"indices\"}.");
  p.option("--text", "SUBSTRING", "the text to look for")
      .option("--limit", "K", "print at most K matches (the count is still the total)")
      .flag("--json", "one JSON object instead of lines")
      .examples("  explicitlm bank find bank.h5 --text \"Paris\"\n  explicitlm bank find bank.h5 --text capital --json");
  if (!p.parse(args)) return 0;
  Runtime rt = start_runtime("bank-find", p.config());
  const std::string needle = p.get("--text");
  ELM_CHECK(!needle.empty(), "explicitlm bank find: --text must not be empty");
  const int64_t limit = p.get_int("--limit", -1);
  const memory::MemoryBank bank = memory::load_bank(bank_path);
  std::vector<int64_t> hits = memory::find_entries(bank, needle);
  const size_t total = hits.size();
  if (limit >= 0 && hits.size() > static_cast<size_t>(limit)) hits.resize(static_cast<size_t>(limit));
  if (p.has("--json")) {
    std::cout << dump({{"text", needle}, {"count", total}, {"indices", hits}}) << "\n";
  } else {
    for (int64_t i : hits) std::cout << i << "\t" << bank.texts[static_cast<size_t>(i)] << "\n";
  }
  ELM_LOG(info) << total << " matching entr" << (total == 1 ? "y" : "ies");
  return 0;
}

int run_set(Args args) {
  const std::string bank_path = take_bank_path("set", args);
  ArgParser p("bank set", "BANK.h5 --index I --text \"...\" [--tokenizer PATH]",
              "Replaces entry I with a new sentence, tokenised as `bank build` does (an empty text empties the\n"
              "entry and makes it invalid). The edit is atomic: the file is copied to BANK.h5.tmp, edited,\n"
              "synced and renamed over BANK.h5, so a crash leaves the old or the new file, never a torn one.\n"
              "Prints a JSON summary of the new entry.");
  p.option("--index", "I", "entry to replace (0-based)")
      .option("--text", "S", "the new sentence")
      .option("--tokenizer", "PATH", "tokenizer (default: the path recorded in the bank; it must be the same file contents)")
      .examples("  explicitlm bank set bank.h5 --index 5 --text \"The Eiffel Tower is in Paris.\"\n"
                "  explicitlm bank set bank.h5 --index 7 --text \"\"        # empty the entry");
  if (!p.parse(args)) return 0;
  Runtime rt = start_runtime("bank-set", p.config());
  const memory::BankInfo info = memory::read_bank_info(bank_path);
  const int64_t index = checked_index(p, bank_path, info.num_entries);
  const std::string text = p.get("--text");
  const text::Tokenizer tokenizer = load_tokenizer_or_fail(p.get_or("--tokenizer", info.meta.tokenizer_path));
  const std::vector<int32_t> ids = memory::set_entry(bank_path, index, text, tokenizer);
  int64_t length = 0;
  for (int32_t id : ids) length += (id != info.meta.pad_id);
  ELM_LOG(info) << "bank: entry " << index << " of " << bank_path << " replaced";
  std::cout << dump({{"bank", bank_path}, {"index", index}, {"valid", length > 0}, {"length", length}, {"ids", ids},
                     {"text", text}})
            << "\n";
  return 0;
}

int run_stats(Args args) {
  const std::string bank_path = take_bank_path("stats", args);
  ArgParser p("bank stats", "BANK.h5 [--json]",
              "Prints the bank's shape and metadata, the valid and truncated entry counts and the histogram of\n"
              "entry lengths (non-padding ids per entry, 0 .. L).");
  p.flag("--json", "one JSON object instead of text").examples("  explicitlm bank stats bank.h5 --json");
  if (!p.parse(args)) return 0;
  Runtime rt = start_runtime("bank-stats", p.config());
  const memory::MemoryBank bank = memory::load_bank(bank_path);
  const memory::BankStats s = memory::bank_stats(bank);
  const auto& m = bank.meta;
  json j = {{"bank", bank_path},
            {"num_entries", s.num_entries},
            {"entry_length", s.entry_length},
            {"grid_side", bank.grid_side()},
            {"valid", s.valid},
            {"invalid", s.invalid},
            {"truncated", s.truncated},
            {"mean_length", s.mean_length},
            {"length_histogram", s.length_histogram},
            {"pad_id", m.pad_id},
            {"vocab_size", m.vocab_size},
            {"tokenizer_path", m.tokenizer_path},
            {"tokenizer_fingerprint", m.tokenizer_fingerprint},
            {"source_path", m.source_path},
            {"source_fingerprint", m.source_fingerprint},
            {"source_facts", m.source_facts},
            {"build_time", m.build_time},
            {"format_version", m.format_version}};
  if (p.has("--json")) {
    std::cout << dump(j) << "\n";
    return 0;
  }
  std::cout << "bank " << bank_path << ": " << s.num_entries << " entries x " << s.entry_length << " ids (grid "
            << bank.grid_side() << " x " << bank.grid_side() << ")\n"
            << "valid:     " << s.valid << "\ninvalid:   " << s.invalid << "\ntruncated: " << s.truncated
            << "\nmean length (valid entries): " << std::fixed << std::setprecision(2) << s.mean_length << "\n"
            << "source:    " << m.source_path << " (" << m.source_facts << " facts)\n"
            << "tokenizer: " << m.tokenizer_path << " (pad id " << m.pad_id << ")\n"
            << "built:     " << m.build_time << "\nlength histogram (ids: entries):\n";
  for (size_t k = 0; k < s.length_histogram.size(); ++k) {
    if (s.length_histogram[k] > 0) std::cout << "  " << std::setw(4) << k << ": " << s.length_histogram[k] << "\n";
  }
  return 0;
}

const char* kBankUsage =
    "Usage: explicitlm bank SUBCOMMAND [options]\n\n"
    "The memory bank file (HDF5; layout in docs/bank.md):\n"
    "  build   build a bank from a knowledge base      bank build --kb FILE --out BANK.h5 [--knowledge-num N ...]\n"
    "  show    print entries                           bank show BANK.h5 --index I [--count K] [--json]\n"
    "  find    entries whose text contains a string    bank find BANK.h5 --text SUBSTRING\n"
    "  set     replace one entry (atomic)              bank set BANK.h5 --index I --text \"...\"\n"
    "  stats   counts, truncation, length histogram    bank stats BANK.h5\n\n"
    "`explicitlm bank SUBCOMMAND --help` describes each, with examples.\n";

}  // namespace

int run_bank(const Args& args) {
  return run_subcommand("bank", args, kBankUsage,
                        {{"build", run_build}, {"show", run_show}, {"find", run_find}, {"set", run_set}, {"stats", run_stats}});
}

}  // namespace elm::app
