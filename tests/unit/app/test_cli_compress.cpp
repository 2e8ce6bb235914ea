// explicitlm make-tiny-classifier and compress, run as a user would.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "support/assertions.h"
#include "support/cli_runner.h"
#include "support/scratch_dir.h"

namespace elm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::run_cli;

const std::string kText =
    "The meeting started at 9:30 and ended at noon.\nPlease send the final numbers to the finance team before "
    "Friday. Can we move the call to Tuesday afternoon?";

std::string model(const std::string& arch) {
  static std::map<std::string, std::string> made;
  auto& dir = made[arch];
  if (dir.empty()) {
    // Per process: ctest runs each test in its own process, possibly at the same time.
    dir = testing::scratch_dir("cli-compress", arch + "-" + std::to_string(::getpid())).string();
    const auto r = run_cli({"make-tiny-classifier", "--arch", arch, "--out", dir, "--seed", "2"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  return dir;
}

TEST(CliCompress, MakeTinyClassifierWritesHfLayout) {
  const auto dir = testing::scratch_dir("cli-compress", "layout");
  auto r = run_cli({"make-tiny-classifier", "--arch", "xlm-roberta", "--out", dir.string(), "--hidden-size", "16",
                    "--heads", "2", "--layers", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.last_line())["arch"], "xlm-roberta");
  for (const char* f : {"config.json", "model.safetensors", "sentencepiece.bpe.model", "added_tokens.json"}) {
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  }
  std::ifstream in(dir / "config.json");
  const json config = json::parse(in);
  EXPECT_EQ(config["model_type"], "xlm-roberta");
  EXPECT_EQ(config["hidden_size"], 16);
  EXPECT_EQ(config["architectures"][0], "XLMRobertaForTokenClassification");
  EXPECT_EQ(config["max_position_embeddings"], 514);
  const fs::path bert = model("bert");
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "vocab.txt"}) {
    EXPECT_TRUE(fs::exists(bert / f)) << f;
  }
  r = run_cli({"make-tiny-classifier", "--arch", "gpt2", "--out", dir.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "--arch must be bert or xlm-roberta");
}

TEST(CliCompress, TextAndJsonAgree) {
  for (const std::string arch : {"bert", "xlm-roberta"}) {
    const auto plain = run_cli({"compress", "--model", model(arch), "--text", kText});
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    const auto as_json = run_cli({"compress", "--model", model(arch), "--text", kText, "--json"});
    ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
    const json j = json::parse(as_json.out);
    EXPECT_EQ(plain.out, j["text"].get<std::string>() + "\n");
    EXPECT_EQ(j["chunks"], 1);
    EXPECT_GT(j["input_tokens"].get<int>(), 20);
    size_t kept = 0, words = 0;
    for (const auto& w : j["words"]) {
      ++words;
      kept += w["keep"].get<int>();
      if (w["force"].get<bool>()) EXPECT_TRUE(w["prob"] == 1.0 || w["prob"] == 0.0) << w.dump();
    }
    EXPECT_GT(kept, 0u);
    EXPECT_LT(kept, words);
    EXPECT_LT(j["text"].get<std::string>().size(), kText.size());
    // A lower rate keeps fewer words.
    const json low = json::parse(run_cli({"compress", "--model", model(arch), "--text", kText, "--json", "--rate",
                                          "0.2"}).out);
    size_t kept_low = 0;
    for (const auto& w : low["words"]) kept_low += w["keep"].get<int>();
    EXPECT_LT(kept_low, kept) << arch;
  }
}

TEST(CliCompress, JsonlLineByLineAndErrorsNameTheLine) {
  const auto dir = testing::scratch_dir("cli-compress", "jsonl");
  {
    std::ofstream in(dir / "in.jsonl");
    in << json({{"text", kText}}).dump() << "\n" << json({{"text", "the river flows into the sea."}}).dump() << "\n";
  }
  const auto r = run_cli({"compress", "--model", model("bert"), "--jsonl", (dir / "in.jsonl").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream out(r.out);
  std::string line;
  std::vector<std::string> texts;
  while (std::getline(out, line)) texts.push_back(json::parse(line)["text"]);
  ASSERT_EQ(texts.size(), 2u);
  const auto single = run_cli({"compress", "--model", model("bert"), "--text", "the river flows into the sea."});
  EXPECT_EQ(texts[1] + "\n", single.out);

  std::ofstream(dir / "bad.jsonl") << json({{"text", "ok"}}).dump() << "\n{\"txt\": 1}\n";
  const auto bad = run_cli({"compress", "--model", model("bert"), "--jsonl", (dir / "bad.jsonl").string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_CONTAINS(bad.err, "bad.jsonl:2");
  EXPECT_TRUE(bad.out.empty());
}

TEST(CliCompress, PassthroughAndErrors) {
  // Without a model the default kind (llmlingua2) is an error that names the way out; passthrough
  // only when asked for.
  auto r = run_cli({"compress", "--text", "Paris is the capital of France."});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "extractor.model_path is empty");
  EXPECT_CONTAINS(r.err, "extractor.kind=passthrough");
  EXPECT_TRUE(r.out.empty());
  r = run_cli({"compress", "--text", "Paris is the capital of France.", "extractor.kind=passthrough"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Paris is the capital of France.\n");
  r = run_cli({"compress", "--model", "/nonexistent/lingua", "--text", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "/nonexistent/lingua");
  r = run_cli({"compress", "--text", "x", "extractor.kind=llmlingua2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "extractor.model_path is empty");
  r = run_cli({"compress", "--model", model("bert"), "--text", "x", "--rate", "1.5"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "extractor.rate");
  r = run_cli({"compress", "--model", model("bert")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "exactly one of --text or --jsonl");
  for (const char* cmd : {"compress", "make-tiny-classifier"}) {
    r = run_cli({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_CONTAINS(r.out, "Usage: explicitlm " + std::string(cmd));
    EXPECT_CONTAINS(r.out, "Examples:");
  }
}

TEST(CliCompress, ConfigKeysReachTheCompressor) {
  // Without "\n" among the force tokens it is no longer forced: the output can lose the newline,
  // and no word is "\n" with probability 1.
  const auto r = run_cli({"compress", "--model", model("bert"), "--text", kText, "--json",
                          "extractor.force_tokens=[\".\", \"?\"]", "extractor.drop_consecutive=false"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& w : json::parse(r.out)["words"]) {
    if (w["force"].get<bool>()) EXPECT_TRUE(w["text"] == "." || w["text"] == "?") << w.dump();
  }
}

}  // namespace
}  // namespace elm
