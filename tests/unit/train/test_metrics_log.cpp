// train/metrics_log: one JSON object per line, visible as soon as write() returns; a fresh run
// truncates; a resumed run keeps lines up to the resume step and drops a crash's partial line.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/assertions.h"
#include "support/scratch_dir.h"
#include "train/metrics_log.h"

namespace elm::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<json> lines_of(const fs::path& p) {
  std::vector<json> out;
  std::istringstream in(read(p));
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line));
  return out;
}

std::vector<int64_t> steps_of(const fs::path& p) {
  std::vector<int64_t> out;
  for (const auto& j : lines_of(p)) out.push_back(j.value("step", int64_t{-1}));
  return out;
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

TEST(MetricsLog, WritesOneFlushedLinePerCall) {
  const auto path = elm::testing::scratch_dir("metrics-log", "fresh") / "metrics.jsonl";
  MetricsLog log(path.string());
  EXPECT_EQ(log.path(), path.string());
  log.write({{"kind", "train"}, {"step", 10}, {"loss", 2.31}, {"lr", 2e-4}});
  // Visible before the log is closed: nothing waits in a user-space buffer.
  EXPECT_EQ(read(path), R"({"kind":"train","step":10,"loss":2.31,"lr":0.0002})"
                        "\n");
  log.write({{"kind", "eval"}, {"step", 100}, {"note", "two\nlines"}});
  const auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["note"], "two\nlines");  // escaped, still one line
  EXPECT_EQ(lines[1]["step"], 100);
}

TEST(MetricsLog, FreshRunTruncatesAnOldFile) {
  const auto path = elm::testing::scratch_dir("metrics-log", "truncate") / "metrics.jsonl";
  write_text(path, "{\"step\":1}\n{\"step\":2}\n");
  MetricsLog log(path.string());
  EXPECT_EQ(read(path), "");
  log.write({{"step", 0}});
  EXPECT_EQ(steps_of(path), (std::vector<int64_t>{0}));
}

TEST(MetricsLog, CreatesParentDirectories) {
  const auto dir = elm::testing::scratch_dir("metrics-log", "parent");
  const auto path = dir / "run" / "sub" / "metrics.jsonl";
  MetricsLog log(path.string(), 5);  // resume without a file: starts one
  log.write({{"step", 6}});
  EXPECT_EQ(steps_of(path), (std::vector<int64_t>{6}));
}

TEST(MetricsLog, ResumeDropsLaterStepsAndAPartialLine) {
  const auto path = elm::testing::scratch_dir("metrics-log", "resume") / "metrics.jsonl";
  write_text(path,
             "{\"kind\":\"train\",\"step\":10,\"loss\":2.0}\n"
             "{\"kind\":\"eval\",\"step\":20,\"lm_loss\":1.9}\n"
             "{\"kind\":\"meta\",\"note\":\"no step\"}\n"
             "\n"
             "{\"kind\":\"train\",\"step\":30,\"loss\":1.5}\n"
             "{\"kind\":\"train\",\"step\":40,\"lo");  // crashed mid-write
  {
    MetricsLog log(path.string(), 20);
    EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
    EXPECT_EQ(steps_of(path), (std::vector<int64_t>{10, 20, -1}));
    log.write({{"kind", "train"}, {"step", 21}, {"loss", 1.8}});
  }
  EXPECT_EQ(steps_of(path), (std::vector<int64_t>{10, 20, -1, 21}));
  EXPECT_EQ(read(path).back(), '\n');
}

TEST(MetricsLog, ResumeKeepsAConsistentFileUntouched) {
  const auto path = elm::testing::scratch_dir("metrics-log", "keep") / "metrics.jsonl";
  const std::string text = "{\"step\":1,\"loss\":3}\n{\"step\":2,\"loss\":2.5}\n";
  write_text(path, text);
  const auto before = fs::last_write_time(path);
  MetricsLog log(path.string(), 2);
  EXPECT_EQ(read(path), text);
  EXPECT_EQ(fs::last_write_time(path), before);
  log.write({{"step", 3}, {"loss", 2.0}});
  EXPECT_EQ(steps_of(path), (std::vector<int64_t>{1, 2, 3}));
}

TEST(MetricsLog, ResumeRejectsACorruptCompleteLineNamingIt) {
  const auto path = elm::testing::scratch_dir("metrics-log", "corrupt") / "metrics.jsonl";
  write_text(path, "{\"step\":1}\n{\"step\":2,,}\n{\"step\":3}\n");
  const std::string msg = elm::testing::error_of([&] { MetricsLog log(path.string(), 5); });
  EXPECT_CONTAINS(msg, path.string() + ":2");
  write_text(path, "{\"step\":1}\n[1,2]\n");
  EXPECT_CONTAINS(elm::testing::error_of([&] { MetricsLog log(path.string(), 5); }), path.string() + ":2");
}

TEST(MetricsLog, RejectsNonObjectsAndUnwritablePaths) {
  const auto dir = elm::testing::scratch_dir("metrics-log", "errors");
  MetricsLog log((dir / "metrics.jsonl").string());
  EXPECT_CONTAINS(elm::testing::error_of([&] { log.write(json::array({1, 2})); }), "JSON object");
  EXPECT_EQ(read(dir / "metrics.jsonl"), "");
  fs::create_directories(dir / "is_a_dir");
  EXPECT_CONTAINS(elm::testing::error_of([&] { MetricsLog bad((dir / "is_a_dir").string()); }), "is_a_dir");
}

}  // namespace
}  // namespace elm::train
