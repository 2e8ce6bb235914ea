// `explicitlm bank`: build a bank from a JSON knowledge base, edit entry 5, show it, read the file
// with h5dump, and the clear errors (exit code 1) on bad input.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/assertions.h"
#include "io/hdf5_file.h"
#include "support/cli_runner.h"
#include "support/test_paths.h"

namespace elm {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;


std::string tokenizer_dir() { return testing::qwen3_tokenizer_dir(); }
fs::path scratch(const std::string& name) { return testing::scratch_dir("cli-bank", name); }

// Eight facts; a JSON array of {"sentence"}.
std::string write_kb(const fs::path& dir) {
  const std::string path = (dir / "kb.json").string();
  nlohmann::json kb = nlohmann::json::array();
  for (const char* s : {"Paris is the capital of France.", "Rome is the capital of Italy.", "Water boils at 100 C.",
                        "The Moon orbits the Earth.", "Berlin is in Germany.", "Tokyo is in Japan.",
                        "Cats are mammals.", "Madrid is the capital of Spain."}) {
    kb.push_back({{"sentence", s}});
  }
  std::ofstream(path) << kb.dump(2);
  return path;
}

std::string build_bank(const fs::path& dir, const std::string& n = "16", const std::string& l = "16") {
  const std::string out = (dir / "bank.h5").string();
  auto r = run_cli({"bank", "build", "--kb", write_kb(dir), "--tokenizer", tokenizer_dir(), "--knowledge-num", n,
                    "--knowledge-length", l, "--out", out});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return out;
}

TEST(CliBank, BuildSetShowEntryFive) {
  const auto dir = scratch("set-show");
  const std::string bank = build_bank(dir);
  ASSERT_TRUE(fs::exists(bank));

  auto r = run_cli({"bank", "show", bank, "--index", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "entry 5");
  EXPECT_CONTAINS(r.out, "Tokyo is in Japan.");

  const std::string sentence = "The Eiffel Tower stands in Paris.";
  r = run_cli({"bank", "set", bank, "--index", "5", "--text", sentence});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto set = nlohmann::json::parse(r.last_line());
  EXPECT_EQ(set["index"], 5);
  EXPECT_EQ(set["valid"], true);
  EXPECT_FALSE(fs::exists(bank + ".tmp"));

  r = run_cli({"bank", "show", bank, "--index", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "text:    " + sentence);
  EXPECT_CONTAINS(r.out, "decoded: " + sentence);
  EXPECT_EQ(r.out.find("Tokyo"), std::string::npos) << r.out;

  // JSON form: ids are the set's ids, the decoded text is the sentence.
  r = run_cli({"bank", "show", bank, "--index", "4", "--count", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line4, line5;
  std::getline(lines, line4);
  std::getline(lines, line5);
  auto e4 = nlohmann::json::parse(line4), e5 = nlohmann::json::parse(line5);
  EXPECT_EQ(e4["index"], 4);
  EXPECT_EQ(e4["text"], "Berlin is in Germany.");
  EXPECT_EQ(e5["index"], 5);
  EXPECT_EQ(e5["decoded"], sentence);
  EXPECT_EQ(e5["ids"], set["ids"]);
  EXPECT_EQ(e5["cell"], nlohmann::json::array({1, 1}));

  // Rows beyond the facts are invalid.
  r = run_cli({"bank", "show", bank, "--index", "12", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.last_line())["valid"], false);
}

TEST(CliBank, FindAndStats) {
  const auto dir = scratch("find-stats");
  const std::string bank = build_bank(dir, "16", "4");
  auto r = run_cli({"bank", "find", bank, "--text", "capital", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.last_line());
  EXPECT_EQ(j["count"], 3);
  EXPECT_EQ(j["indices"], nlohmann::json::array({0, 1, 7}));
  r = run_cli({"bank", "find", bank, "--text", "Moon"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "3\tThe Moon orbits the Earth.\n");

  r = run_cli({"bank", "stats", bank, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.last_line());
  EXPECT_EQ(j["num_entries"], 16);
  EXPECT_EQ(j["entry_length"], 4);
  EXPECT_EQ(j["valid"], 8);
  EXPECT_EQ(j["invalid"], 8);
  EXPECT_EQ(j["pad_id"], 151643);
  EXPECT_GT(j["truncated"].get<int>(), 0);  // L = 4 cuts most sentences
  ASSERT_EQ(j["length_histogram"].size(), 5u);
  EXPECT_EQ(j["length_histogram"][0], 8);
  r = run_cli({"bank", "stats", bank});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "valid:     8");
}

TEST(CliBank, KnowledgeFlagsFallBackToConfigKeys) {
  const auto dir = scratch("config-keys");
  const std::string out = (dir / "b.h5").string();
  auto r = run_cli({"bank", "build", "--kb", write_kb(dir), "--tokenizer", tokenizer_dir(), "--out", out,
                    "model.knowledge_num=9", "--model.knowledge_length", "6"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.last_line());
  EXPECT_EQ(j["num_entries"], 9);
  EXPECT_EQ(j["entry_length"], 6);
  EXPECT_EQ(j["facts"], 8);
}

TEST(CliBank, H5dumpReadsTheFile) {
  if (std::system("command -v h5dump >/dev/null 2>&1") != 0) GTEST_SKIP() << "h5dump is not installed";
  const auto dir = scratch("h5dump");
  const std::string bank = build_bank(dir);
  const std::string out = (dir / "h5dump.txt").string();
  ASSERT_EQ(std::system(("h5dump -H " + testing::shell_quote(bank) + " > " + testing::shell_quote(out) + " 2>&1").c_str()),
            0);
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string dump = ss.str();
  EXPECT_CONTAINS(dump, "DATASET \"tokens\"");
  EXPECT_CONTAINS(dump, "( 16, 16 )");
  EXPECT_CONTAINS(dump, "DATASET \"valid\"");
  EXPECT_CONTAINS(dump, "DATASET \"text\"");
  EXPECT_CONTAINS(dump, "ATTRIBUTE \"complete\"");
  EXPECT_CONTAINS(dump, "ATTRIBUTE \"pad_id\"");
}

TEST(CliBank, MalformedKnowledgeBaseNamesFileAndPosition) {
  const auto dir = scratch("bad-kb");
  const std::string kb = (dir / "bad.json").string();
  std::ofstream(kb) << "[\n  {\"sentence\": \"ok\"},\n  {\"sentence\" \"missing colon\"}\n]\n";
  auto r = run_cli({"bank", "build", "--kb", kb, "--tokenizer", tokenizer_dir(), "--knowledge-num", "16",
                    "--knowledge-length", "8", "--out", (dir / "b.h5").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, kb + ": invalid JSON at byte");
  EXPECT_CONTAINS(r.err, "line 3");
  EXPECT_FALSE(fs::exists(dir / "b.h5"));
  EXPECT_FALSE(fs::exists(dir / "b.h5.tmp"));
}

TEST(CliBank, KnowledgeNumMustBeAPerfectSquare) {
  const auto dir = scratch("not-square");
  auto r = run_cli({"bank", "build", "--kb", write_kb(dir), "--tokenizer", tokenizer_dir(), "--knowledge-num", "15",
                    "--knowledge-length", "8", "--out", (dir / "b.h5").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "knowledge_num 15 is not a perfect square");
  EXPECT_FALSE(fs::exists(dir / "b.h5"));
}

TEST(CliBank, TooManyFactsNeedsTruncateFlag) {
  const auto dir = scratch("too-many");
  const std::string out = (dir / "b.h5").string();
  auto r = run_cli({"bank", "build", "--kb", write_kb(dir), "--tokenizer", tokenizer_dir(), "--knowledge-num", "4",
                    "--knowledge-length", "8", "--out", out});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "has 8 facts but the bank has knowledge_num = 4");
  r = run_cli({"bank", "build", "--kb", write_kb(dir), "--tokenizer", tokenizer_dir(), "--knowledge-num", "4",
               "--knowledge-length", "8", "--out", out, "--truncate-kb"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.last_line())["valid"], 4);
}

TEST(CliBank, IndexOutOfRangeInShowAndSet) {
  const auto dir = scratch("out-of-range");
  const std::string bank = build_bank(dir);
  auto r = run_cli({"bank", "show", bank, "--index", "16"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "--index 16 is outside the bank [0, 16)");
  r = run_cli({"bank", "show", bank, "--index", "14", "--count", "3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "entries [14, 17) go past the end of the bank [0, 16)");
  r = run_cli({"bank", "set", bank, "--index", "-1", "--text", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "--index -1 is outside the bank [0, 16)");
  r = run_cli({"bank", "set", bank, "--index", "99", "--text", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "--index 99 is outside the bank [0, 16)");
  // The file is untouched and still loads.
  r = run_cli({"bank", "stats", bank, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.last_line())["valid"], 8);
}

TEST(CliBank, TokenIdOutsideTheVocabularyIsAnError) {
  const auto dir = scratch("bad-id");
  const std::string bank = build_bank(dir);
  {
    io::H5File f = io::H5File::open_write(bank);
    std::vector<int32_t> row(16, 151643);
    row[0] = 9999999;
    f.write_int32_rows("tokens", 3, 1, row.data());
  }
  auto r = run_cli({"bank", "stats", bank});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "entry 3 holds token id 9999999, outside the vocabulary [0, 151669)");
}

TEST(CliBank, MissingBankFileAndUsageErrors) {
  const auto dir = scratch("usage");
  const std::string missing = (dir / "none.h5").string();
  auto r = run_cli({"bank", "show", missing, "--index", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, missing);
  EXPECT_CONTAINS(r.err, "no such file");
  r = run_cli({"bank", "show", "--index", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "missing the bank file");
  r = run_cli({"bank", "frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_CONTAINS(r.err, "unknown subcommand 'frobnicate'");
}

TEST(CliBank, HelpHasExamples) {
  for (const char* sub : {"build", "show", "find", "set", "stats"}) {
    auto r = run_cli({"bank", sub, "--help"});
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_CONTAINS(r.out, std::string("Usage: explicitlm bank ") + sub);
    EXPECT_CONTAINS(r.out, "Examples:");
  }
  auto r = run_cli({"bank", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_CONTAINS(r.out, "bank set BANK.h5 --index I");
}

}  // namespace
}  // namespace elm
