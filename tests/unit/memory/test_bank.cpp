// The memory bank: building from facts (padding, truncation, validity, grid layout), the HDF5 file
// (exact round trip, completion marker, id validation), the cache, and atomic in-place edits.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/assertions.h"
#include "support/test_paths.h"
#include "core/error.h"
#include "io/hdf5_file.h"
#include "memory/bank.h"
#include "text/tokenizer.h"

namespace elm::memory {
namespace {

namespace fs = std::filesystem;


using testing::error_of;

const text::Tokenizer& qwen3() {
  return testing::qwen3_tokenizer();
}

constexpr int64_t kPad = 151643;  // <|endoftext|>

class BankTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / (std::string("elm_bank_") + info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

const std::vector<std::string> kFacts = {
    "Paris is the capital of France.",
    "",
    "The quick brown fox jumps over the lazy dog while the cat watches from the windowsill.",
    "<|endoftext|>",
    "Water boils at 100 degrees Celsius.",
};

std::vector<int32_t> row(const MemoryBank& b, int64_t i) {
  auto r = b.tokens[i].contiguous();
  return std::vector<int32_t>(r.data_ptr<int32_t>(), r.data_ptr<int32_t>() + r.numel());
}

TEST(BankGrid, PerfectSquaresOnly) {
  EXPECT_EQ(checked_grid_side(1), 1);
  EXPECT_EQ(checked_grid_side(16), 4);
  EXPECT_EQ(checked_grid_side(1048576), 1024);
  auto msg = error_of([] { checked_grid_side(15); });
  EXPECT_CONTAINS(msg, "knowledge_num 15 is not a perfect square");
  EXPECT_CONTAINS(msg, "nearest: 9 or 16");
  EXPECT_CONTAINS(error_of([] { checked_grid_side(0); }), "must be >= 1");
  EXPECT_CONTAINS(error_of([] { build_bank({"a"}, qwen3(), 10, 4, kPad); }), "knowledge_num 10 is not a perfect square");
}

TEST(BankBuild, PadIdIsEndOfTextFromTheTokenizer) { EXPECT_EQ(default_pad_id(qwen3()), kPad); }

TEST(BankBuild, PadsTruncatesAndMarksAllPaddingInvalid) {
  const int64_t L = 8;
  MemoryBank b = build_bank(kFacts, qwen3(), 9, L, kPad, BankSource{"facts.json", "fp"});
  EXPECT_EQ(b.num_entries, 9);
  EXPECT_EQ(b.entry_length, L);
  ASSERT_EQ(b.tokens.sizes(), (std::vector<int64_t>{9, L}));
  EXPECT_EQ(b.tokens.scalar_type(), torch::kInt32);
  EXPECT_EQ(b.valid.scalar_type(), torch::kBool);

  // Entry 0: the ids of the sentence (no special tokens), then padding.
  auto ids0 = qwen3().encode(kFacts[0]);
  ASSERT_LT(static_cast<int64_t>(ids0.size()), L);
  auto expect0 = ids0;
  expect0.resize(L, kPad);
  EXPECT_EQ(row(b, 0), expect0);
  EXPECT_EQ(b.token_counts[0], static_cast<int32_t>(ids0.size()));
  EXPECT_TRUE(b.valid[0].item<bool>());
  EXPECT_FALSE(b.truncated(0));

  // Entry 1: empty text -> all padding -> invalid.
  EXPECT_EQ(row(b, 1), std::vector<int32_t>(L, kPad));
  EXPECT_FALSE(b.valid[1].item<bool>());

  // Entry 2: longer than L -> the first L ids.
  auto ids2 = qwen3().encode(kFacts[2]);
  ASSERT_GT(static_cast<int64_t>(ids2.size()), L);
  EXPECT_EQ(row(b, 2), std::vector<int32_t>(ids2.begin(), ids2.begin() + L));
  EXPECT_TRUE(b.truncated(2));
  EXPECT_TRUE(b.valid[2].item<bool>());

  // Entry 3: text that tokenises to the pad id only is all padding -> invalid.
  EXPECT_FALSE(b.valid[3].item<bool>());
  EXPECT_TRUE(b.valid[4].item<bool>());

  // Rows after the last fact are empty and invalid.
  for (int64_t i = 5; i < 9; ++i) {
    EXPECT_FALSE(b.valid[i].item<bool>()) << i;
    EXPECT_EQ(row(b, i), std::vector<int32_t>(L, kPad));
    EXPECT_EQ(b.texts[static_cast<size_t>(i)], "");
  }
  EXPECT_EQ(b.texts[4], kFacts[4]);

  // Entry i is grid cell (i / 3, i % 3).
  EXPECT_EQ(b.grid_side(), 3);
  EXPECT_EQ(b.grid_cell(5), (std::pair<int64_t, int64_t>{1, 2}));
  EXPECT_EQ(b.grid_cell(6), (std::pair<int64_t, int64_t>{2, 0}));

  EXPECT_EQ(b.meta.pad_id, kPad);
  EXPECT_EQ(b.meta.vocab_size, qwen3().vocab_size());
  EXPECT_EQ(b.meta.source_facts, 5);
  EXPECT_EQ(b.meta.tokenizer_fingerprint, fingerprint_file(qwen3().path()));
  EXPECT_EQ(b.meta.tokenizer_fingerprint.rfind("fnv1a64:", 0), 0u);
  EXPECT_FALSE(b.meta.build_time.empty());
}

TEST(BankBuild, MoreFactsThanEntriesIsAnErrorUnlessTruncating) {
  const std::vector<std::string> facts = {"a", "b", "c", "d", "e"};
  auto msg = error_of([&] { build_bank(facts, qwen3(), 4, 4, kPad, BankSource{"kb.json", ""}); });
  EXPECT_CONTAINS(msg, "knowledge base kb.json has 5 facts but the bank has knowledge_num = 4");
  EXPECT_CONTAINS(msg, "--truncate-kb");
  MemoryBank b = build_bank(facts, qwen3(), 4, 4, kPad, BankSource{"kb.json", ""}, /*truncate_facts=*/true);
  EXPECT_EQ(b.texts, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(b.meta.source_facts, 5);
  EXPECT_TRUE(b.valid.all().item<bool>());
}

TEST(BankBuild, BadPadIdAndLengthAreErrors) {
  EXPECT_CONTAINS(error_of([] { build_bank({"a"}, qwen3(), 4, 4, 999999999); }), "pad id 999999999 is outside");
  EXPECT_CONTAINS(error_of([] { build_bank({"a"}, qwen3(), 4, 0, kPad); }), "knowledge_length 0 must be >= 1");
}

TEST_F(BankTest, SaveLoadRoundTripIsExact) {
  MemoryBank b = build_bank(kFacts, qwen3(), 9, 8, kPad, BankSource{"facts.json", "fnv1a64:0:0"});
  b.texts[7] = "text without tokens is kept verbatim: naïve ✓";
  const std::string path = file("bank.h5");
  save_bank(path, b);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  MemoryBank c = load_bank(path, qwen3().vocab_size());
  EXPECT_EQ(c.num_entries, 9);
  EXPECT_EQ(c.entry_length, 8);
  EXPECT_TRUE(torch::equal(c.tokens, b.tokens));
  EXPECT_TRUE(torch::equal(c.valid, b.valid));
  EXPECT_EQ(c.texts, b.texts);
  EXPECT_EQ(c.token_counts, b.token_counts);
  EXPECT_EQ(c.meta.pad_id, b.meta.pad_id);
  EXPECT_EQ(c.meta.vocab_size, b.meta.vocab_size);
  EXPECT_EQ(c.meta.tokenizer_path, b.meta.tokenizer_path);
  EXPECT_EQ(c.meta.tokenizer_fingerprint, b.meta.tokenizer_fingerprint);
  EXPECT_EQ(c.meta.source_path, b.meta.source_path);
  EXPECT_EQ(c.meta.source_fingerprint, "fnv1a64:0:0");
  EXPECT_EQ(c.meta.source_facts, 5);
  EXPECT_EQ(c.meta.build_time, b.meta.build_time);
  EXPECT_EQ(c.meta.format_version, kBankFormatVersion);

  // Partial reads see the same rows.
  MemoryBank rows = read_bank_rows(path, 2, 3);
  EXPECT_EQ(rows.num_entries, 3);
  EXPECT_TRUE(torch::equal(rows.tokens, b.tokens.slice(0, 2, 5)));
  EXPECT_EQ(rows.texts[0], kFacts[2]);
  EXPECT_CONTAINS(error_of([&] { read_bank_rows(path, 9, 1); }), "index 9 is outside [0, 9)");
  EXPECT_CONTAINS(error_of([&] { read_bank_rows(path, 8, 2); }), "go past the end");

  // The file carries its layout for h5dump readers.
  io::H5File f = io::H5File::open_read(path);
  EXPECT_EQ(f.attribute_string("format"), "explicitlm-bank");
  EXPECT_EQ(f.attribute_int("grid_side"), 3);
  EXPECT_EQ(f.dataset_info("valid").kind, io::H5Kind::Bool);
}

TEST_F(BankTest, FileWithoutCompletionMarkerIsRefused) {
  MemoryBank b = build_bank(kFacts, qwen3(), 9, 8, kPad);
  const std::string path = file("bank.h5");
  save_bank(path, b);
  {
    io::H5File f = io::H5File::open_write(path);
    f.set_attribute("complete", int64_t{0});
  }
  auto msg = error_of([&] { load_bank(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "incomplete");
  EXPECT_CONTAINS(error_of([&] { read_bank_info(path); }), "incomplete");

  // A file that never got the attribute at all (a writer killed before its last step).
  const std::string bare = file("bare.h5");
  {
    io::H5File f = io::H5File::create(bare);
    f.set_attribute("format", "explicitlm-bank");
  }
  EXPECT_CONTAINS(error_of([&] { load_bank(bare); }), "incomplete (no 'complete' attribute)");

  // Not a bank at all.
  const std::string other = file("other.h5");
  io::H5File::create(other).close();
  EXPECT_CONTAINS(error_of([&] { load_bank(other); }), "not an ExplicitLM bank");
  EXPECT_CONTAINS(error_of([&] { load_bank(file("missing.h5")); }), "no such file");
}

TEST_F(BankTest, TokenIdsOutsideTheVocabularyNameTheEntry) {
  MemoryBank b = build_bank(kFacts, qwen3(), 9, 8, kPad);
  const std::string path = file("bank.h5");
  save_bank(path, b);
  {
    io::H5File f = io::H5File::open_write(path);
    std::vector<int32_t> r = row(b, 4);
    r[2] = 200000;
    f.write_int32_rows("tokens", 4, 1, r.data());
  }
  auto msg = error_of([&] { load_bank(path); });
  EXPECT_CONTAINS(msg, "entry 4 holds token id 200000");
  EXPECT_CONTAINS(msg, "outside the vocabulary [0, " + std::to_string(qwen3().vocab_size()) + ")");

  // Against a model vocabulary that holds the id, the same file loads.
  MemoryBank c = load_bank(path, int64_t{200001});
  EXPECT_EQ(c.tokens[4][2].item<int32_t>(), 200000);
}

TEST_F(BankTest, SmallModelVocabularyIsCheckedAgainstTheIds) {
  MemoryBank b = build_bank({"zzz", "Paris"}, qwen3(), 4, 4, kPad);
  const std::string path = file("bank.h5");
  save_bank(path, b);
  auto msg = error_of([&] { load_bank(path, int64_t{151000}); });
  EXPECT_CONTAINS(msg, "pad_id 151643 >= vocab size 151000");
}

TEST_F(BankTest, ValidEntryOfOnlyPaddingIsRefused) {
  MemoryBank b = build_bank(kFacts, qwen3(), 9, 8, kPad);
  const std::string path = file("bank.h5");
  save_bank(path, b);
  {
    io::H5File f = io::H5File::open_write(path);
    const uint8_t yes = 1;
    f.write_uint8_rows("valid", 6, 1, &yes);
  }
  EXPECT_CONTAINS(error_of([&] { load_bank(path); }), "entry 6 is marked valid but holds only padding");
}

TEST_F(BankTest, CacheIsReusedUntilTheKnowledgeBaseChanges) {
  const std::string kb = file("kb.json"), cache = file("cache.h5");
  std::ofstream(kb) << R"([{"sentence": "Paris is the capital of France."}, {"sentence": "Rome is in Italy."}])";
  bool reused = true;
  MemoryBank a = load_or_build_bank(cache, kb, qwen3(), 4, 8, false, &reused);
  EXPECT_FALSE(reused);
  ASSERT_TRUE(fs::exists(cache));
  EXPECT_EQ(a.texts[1], "Rome is in Italy.");

  MemoryBank b = load_or_build_bank(cache, kb, qwen3(), 4, 8, false, &reused);
  EXPECT_TRUE(reused);
  EXPECT_TRUE(torch::equal(a.tokens, b.tokens));
  EXPECT_EQ(b.meta.build_time, a.meta.build_time);

  // recompute forces a rebuild even when nothing changed.
  load_or_build_bank(cache, kb, qwen3(), 4, 8, true, &reused);
  EXPECT_FALSE(reused);

  // Different N or L: rebuilt.
  MemoryBank c = load_or_build_bank(cache, kb, qwen3(), 9, 8, false, &reused);
  EXPECT_FALSE(reused);
  EXPECT_EQ(c.num_entries, 9);
  EXPECT_EQ(load_bank(cache).num_entries, 9);

  // Same N, L but new knowledge base contents: rebuilt with the new facts.
  std::ofstream(kb) << R"([{"sentence": "Paris is the capital of France."}, {"sentence": "Madrid is in Spain."}])";
  MemoryBank d = load_or_build_bank(cache, kb, qwen3(), 9, 8, false, &reused);
  EXPECT_FALSE(reused);
  EXPECT_EQ(d.texts[1], "Madrid is in Spain.");
  EXPECT_EQ(load_bank(cache).texts[1], "Madrid is in Spain.");
  load_or_build_bank(cache, kb, qwen3(), 9, 8, false, &reused);
  EXPECT_TRUE(reused);

  // A damaged cache is rebuilt, not trusted.
  std::ofstream(cache, std::ios::trunc) << "garbage";
  MemoryBank e = load_or_build_bank(cache, kb, qwen3(), 9, 8, false, &reused);
  EXPECT_FALSE(reused);
  EXPECT_EQ(e.texts[1], "Madrid is in Spain.");

  // No cache path: built in memory only.
  MemoryBank f = load_or_build_bank("", kb, qwen3(), 4, 8, false, &reused);
  EXPECT_FALSE(reused);
  EXPECT_EQ(f.num_entries, 4);
  EXPECT_CONTAINS(error_of([&] { load_or_build_bank(file("none.h5"), "", qwen3(), 4, 8, false); }),
                  "model.database_init_path");
}

TEST_F(BankTest, BankFromConfigUsesTheModelKeys) {
  const std::string kb = file("kb.jsonl"), cache = file("from-config.h5");
  std::ofstream(kb) << "{\"text\": \"Oslo is in Norway.\"}\n{\"text\": \"Lima is in Peru.\"}\n";
  Config config;
  config.apply_override("model.database_init_path=" + kb);
  config.apply_override("model.cache_path=" + cache);
  config.apply_override("model.knowledge_num=16");
  config.apply_override("model.knowledge_length=6");
  bool reused = true;
  MemoryBank bank = bank_from_config(config, qwen3(), &reused);
  EXPECT_FALSE(reused);
  EXPECT_EQ(bank.num_entries, 16);
  EXPECT_EQ(bank.entry_length, 6);
  EXPECT_EQ(bank.texts[1], "Lima is in Peru.");
  bank_from_config(config, qwen3(), &reused);
  EXPECT_TRUE(reused);
  config.apply_override("model.recompute_cache=true");
  bank_from_config(config, qwen3(), &reused);
  EXPECT_FALSE(reused);
  config.apply_override("model.knowledge_num=15");
  EXPECT_CONTAINS(error_of([&] { bank_from_config(config, qwen3()); }), "perfect square");
}

TEST_F(BankTest, SetEntryReplacesOneRowAtomically) {
  MemoryBank b = build_bank(kFacts, qwen3(), 9, 8, kPad);
  const std::string path = file("bank.h5");
  save_bank(path, b);
  const std::string text = "The Eiffel Tower is in Paris.";
  auto ids = set_entry(path, 5, text, qwen3());
  auto expect = qwen3().encode(text);
  expect.resize(8, kPad);
  EXPECT_EQ(ids, expect);
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  MemoryBank c = load_bank(path);
  EXPECT_EQ(row(c, 5), expect);
  EXPECT_TRUE(c.valid[5].item<bool>());
  EXPECT_EQ(c.texts[5], text);
  EXPECT_EQ(c.token_counts[5], static_cast<int32_t>(qwen3().encode(text).size()));
  // Every other row is unchanged.
  for (int64_t i = 0; i < 9; ++i) {
    if (i == 5) continue;
    EXPECT_EQ(row(c, i), row(b, i)) << i;
    EXPECT_EQ(c.valid[i].item<bool>(), b.valid[i].item<bool>()) << i;
    EXPECT_EQ(c.texts[static_cast<size_t>(i)], b.texts[static_cast<size_t>(i)]) << i;
  }
  // Emptying an entry makes it invalid.
  set_entry(path, 0, "", qwen3());
  EXPECT_FALSE(load_bank(path).valid[0].item<bool>());
}

TEST_F(BankTest, SetEntryFailureMidwayLeavesTheOldFileLoadable) {
  MemoryBank b = build_bank(kFacts, qwen3(), 9, 8, kPad);
  const std::string path = file("bank.h5");
  save_bank(path, b);
  std::string seen_tmp;
  auto msg = error_of([&] {
    set_entry(path, 5, "A sentence that never lands.", qwen3(), [&](const std::string& tmp) {
      seen_tmp = tmp;
      // The half-edited copy is marked incomplete, so even a crash here could not pass it off as a bank.
      EXPECT_CONTAINS(error_of([&] { read_bank_info(tmp); }), "incomplete");
      throw Error("simulated crash");
    });
  });
  EXPECT_EQ(msg, "simulated crash");
  EXPECT_EQ(seen_tmp.rfind(path + ".tmp.", 0), 0u) << "the edit works on a private copy beside the file: " << seen_tmp;
  EXPECT_FALSE(fs::exists(seen_tmp));
  MemoryBank c = load_bank(path);
  EXPECT_TRUE(torch::equal(c.tokens, b.tokens));
  EXPECT_EQ(c.texts, b.texts);
}

TEST_F(BankTest, ConcurrentEditsOfOneBankAreAllKept) {
  save_bank(file("bank.h5"), build_bank(kFacts, qwen3(), 9, 8, kPad));
  const std::string path = file("bank.h5");
  // Separate processes, as with four `explicitlm bank set` runs at once.
  std::vector<pid_t> writers;
  for (int i = 0; i < 4; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 0;
      try {
        set_entry(path, 5 + i, "Edit number " + std::to_string(i) + ".", qwen3());
      } catch (...) {
        code = 1;
      }
      ::_exit(code);
    }
    writers.push_back(pid);
  }
  for (pid_t pid : writers) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  const MemoryBank after = load_bank(path);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(after.texts[5 + i], "Edit number " + std::to_string(i) + ".");
}

TEST_F(BankTest, SetEntryRejectsBadIndexAndForeignTokenizer) {
  MemoryBank b = build_bank(kFacts, qwen3(), 9, 8, kPad);
  const std::string path = file("bank.h5");
  save_bank(path, b);
  EXPECT_CONTAINS(error_of([&] { set_entry(path, 9, "x", qwen3()); }), "index 9 is outside [0, 9)");
  EXPECT_CONTAINS(error_of([&] { set_entry(path, -1, "x", qwen3()); }), "index -1 is outside [0, 9)");

  // A tokenizer with different contents (one byte appended) is refused.
  const std::string other = file("tokenizer.json");
  fs::copy_file(qwen3().path(), other);
  std::ofstream(other, std::ios::app) << "\n";
  const auto tok2 = text::Tokenizer::load(other);
  EXPECT_CONTAINS(error_of([&] { set_entry(path, 1, "x", tok2); }), "is not the one the bank was built with");
  EXPECT_TRUE(torch::equal(load_bank(path).tokens, b.tokens));
}

TEST(BankQueries, FindStatsAndReader) {
  MemoryBank b = build_bank(kFacts, qwen3(), 9, 8, kPad);
  EXPECT_EQ(find_entries(b, "the"), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(find_entries(b, "Celsius"), (std::vector<int64_t>{4}));
  EXPECT_TRUE(find_entries(b, "nowhere").empty());

  const BankStats s = bank_stats(b);
  EXPECT_EQ(s.num_entries, 9);
  EXPECT_EQ(s.valid, 3);
  EXPECT_EQ(s.invalid, 6);
  // Expected lengths from the tokenizer: facts 0, 2 and 4 hold ids; Qwen3 splits digits, so fact 4 may be cut too.
  std::vector<int64_t> hist(9, 0);
  int64_t truncated = 0, total_len = 0;
  for (size_t i = 0; i < 9; ++i) {
    int64_t n = (i < kFacts.size() && i != 3) ? static_cast<int64_t>(qwen3().encode(kFacts[i]).size()) : 0;
    truncated += n > 8;
    n = std::min<int64_t>(n, 8);
    hist[static_cast<size_t>(n)] += 1;
    total_len += n;
  }
  EXPECT_GE(truncated, 1);
  EXPECT_EQ(s.truncated, truncated);
  EXPECT_EQ(s.length_histogram, hist);
  EXPECT_EQ(s.length_histogram[0], 6);
  EXPECT_DOUBLE_EQ(s.mean_length, total_len / 3.0);

  LocalBankReader reader = make_bank_reader(b);
  EXPECT_EQ(reader.num_entries(), 9);
  EXPECT_EQ(reader.entry_length(), 8);
  EXPECT_EQ(reader.pad_id(), kPad);
  BankRows rows = reader.fetch(torch::tensor({4, 1}, torch::kInt64));
  EXPECT_TRUE(torch::equal(rows.tokens[0], b.tokens[4].to(torch::kInt64)));
  EXPECT_TRUE(torch::equal(rows.valid, torch::tensor({true, false})));
}

}  // namespace
}  // namespace elm::memory
