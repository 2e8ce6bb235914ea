#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include "core/error.h"
#include "core/logging.h"
#include "core_test_util.h"

namespace elm {
namespace {

using test::read_lines;
using test::ScopedEnv;
using test::ScratchDir;

const char* const kRankVars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"};

// Every test starts and ends with logging reset, so tests do not see each other's sinks.
class Logging : public ::testing::Test {
 protected:
  void SetUp() override { log::shutdown(); }
  void TearDown() override { log::shutdown(); }
};

const std::regex kLine(
    R"(^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} \[r(\d+)\] (TRACE|DEBUG|INFO |WARN |ERROR) (.*)$)");

TEST(LogLevel, ParsesNamesCaseInsensitively) {
  EXPECT_EQ(log::parse_level("trace"), log::Level::trace);
  EXPECT_EQ(log::parse_level("DEBUG"), log::Level::debug);
  EXPECT_EQ(log::parse_level("Info"), log::Level::info);
  EXPECT_EQ(log::parse_level("warning"), log::Level::warning);
  EXPECT_EQ(log::parse_level("warn"), log::Level::warning);
  EXPECT_EQ(log::parse_level("error"), log::Level::error);
  EXPECT_FALSE(log::parse_level("verbose").has_value());
  EXPECT_FALSE(log::parse_level("").has_value());
  for (auto l : {log::Level::trace, log::Level::debug, log::Level::info, log::Level::warning,
                 log::Level::error}) {
    EXPECT_EQ(log::parse_level(log::level_name(l)), l);
  }
}

TEST_F(Logging, FileLineHasTimestampRankAndLevel) {
  ScratchDir dir;
  auto path = dir.path("logs/rank3.log");  // parent directory is created
  log::init({/*rank=*/3, log::Level::error, false, path, log::Level::debug});
  ELM_LOG(info) << "hello " << 42 << ' ' << 1.5;
  ELM_LOG(warning) << "careful";
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(lines[0], m, kLine)) << lines[0];
  EXPECT_EQ(m[1], "3");
  EXPECT_EQ(m[2], "INFO ");
  EXPECT_EQ(m[3], "hello 42 1.5");
  EXPECT_TRUE(std::regex_search(lines[0], std::regex(R"( \[r3\] INFO  hello 42 1\.5$)"))) << lines[0];
  ASSERT_TRUE(std::regex_match(lines[1], m, kLine)) << lines[1];
  EXPECT_EQ(m[2], "WARN ");
  EXPECT_EQ(m[3], "careful");
}

TEST_F(Logging, LevelFilteringPerSink) {
  ScratchDir dir;
  auto path = dir.path("r.log");
  log::init({1, log::Level::error, false, path, log::Level::debug});  // rank 1: no console
  EXPECT_TRUE(log::enabled(log::Level::debug));
  EXPECT_FALSE(log::enabled(log::Level::trace));
  ELM_LOG(trace) << "t";
  ELM_LOG(debug) << "d";
  log::write(log::Level::error, "e");
  // Raise the file level: info is dropped now.
  log::init({1, log::Level::error, false, path, log::Level::warning});
  ELM_LOG(info) << "i";
  ELM_LOG(warning) << "w";
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  std::smatch m;
  std::vector<std::string> got;
  for (const auto& l : lines) {
    ASSERT_TRUE(std::regex_match(l, m, kLine)) << l;
    got.push_back(m[2].str() + m[3].str());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"DEBUGd", "ERRORe", "WARN w"}));
}

TEST_F(Logging, EmbeddedNewlinesStayOnOneLine) {
  ScratchDir dir;
  auto path = dir.path("nl.log");
  log::init({0, log::Level::error, false, path, log::Level::debug});
  ELM_LOG(info) << "first\nsecond\r\nthird\n\n";
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1u);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(lines[0], m, kLine)) << lines[0];
  EXPECT_EQ(m[3], "first\\nsecond\\r\\nthird");
}

TEST_F(Logging, FileIsAppendedAcrossInits) {
  ScratchDir dir;
  auto path = dir.write("a.log", "previous line\n");
  log::init({0, log::Level::error, false, path, log::Level::debug});
  ELM_LOG(info) << "one";
  log::init({0, log::Level::error, false, "", log::Level::debug});  // closes the file
  ELM_LOG(info) << "not in the file";
  log::init({0, log::Level::error, false, path, log::Level::debug});
  ELM_LOG(info) << "two";
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "previous line");
  EXPECT_TRUE(std::regex_search(lines[1], std::regex("INFO  one$")));
  EXPECT_TRUE(std::regex_search(lines[2], std::regex("INFO  two$")));
}

TEST_F(Logging, SwitchingFilesClosesTheOld) {
  ScratchDir dir;
  log::init({0, log::Level::error, false, dir.path("1.log"), log::Level::debug});
  ELM_LOG(info) << "to one";
  log::init({0, log::Level::error, false, dir.path("2.log"), log::Level::debug});
  ELM_LOG(info) << "to two";
  EXPECT_EQ(read_lines(dir.path("1.log")).size(), 1u);
  EXPECT_EQ(read_lines(dir.path("2.log")).size(), 1u);
}

TEST_F(Logging, UnopenableFileIsAnError) {
  ScratchDir dir;
  auto blocker = dir.write("file", "x");
  EXPECT_THROW(log::init({0, log::Level::info, false, blocker + "/sub/r.log", log::Level::debug}),
               Error);
}

TEST_F(Logging, SetRankChangesTheTag) {
  ScratchDir dir;
  auto path = dir.path("r.log");
  log::init({0, log::Level::error, false, path, log::Level::debug});
  ELM_LOG(info) << "before";
  log::set_rank(5);
  EXPECT_EQ(log::rank(), 5);
  ELM_LOG(info) << "after";
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(std::regex_search(lines[0], std::regex(R"(\[r0\] INFO  before$)"))) << lines[0];
  EXPECT_TRUE(std::regex_search(lines[1], std::regex(R"(\[r5\] INFO  after$)"))) << lines[1];
}

TEST_F(Logging, ReinitWithoutRankKeepsTheRankSetBefore) {
  ScratchDir dir;
  std::vector<std::unique_ptr<ScopedEnv>> env;
  for (const char* v : kRankVars) env.push_back(std::make_unique<ScopedEnv>(v, std::nullopt));
  ScopedEnv slurm("SLURM_PROCID", "6");
  log::init({});
  EXPECT_EQ(log::rank(), 6);
  log::set_rank(4);
  auto path = dir.path("r4.log");
  log::init({-1, log::Level::error, false, path, log::Level::debug});
  EXPECT_EQ(log::rank(), 4);
  ELM_LOG(info) << "still four";
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(std::regex_search(lines[0], std::regex(R"(\[r4\] INFO  still four$)"))) << lines[0];
}

TEST_F(Logging, ConsoleIsStderrOnRankZeroOnly) {
  log::init({0, log::Level::info, false, "", log::Level::debug});
  ::testing::internal::CaptureStderr();
  ELM_LOG(info) << "rank zero says hi";
  ELM_LOG(debug) << "below console level";
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(std::regex_search(err, std::regex(R"(\[r0\] INFO  rank zero says hi\n)"))) << err;
  EXPECT_EQ(err.find("below console level"), std::string::npos);

  log::init({1, log::Level::info, false, "", log::Level::debug});
  ::testing::internal::CaptureStderr();
  ELM_LOG(error) << "rank one, console off";
  err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "");
  EXPECT_FALSE(log::enabled(log::Level::error));

  log::init({1, log::Level::info, true, "", log::Level::debug});
  ::testing::internal::CaptureStderr();
  ELM_LOG(info) << "rank one, all ranks on";
  err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(std::regex_search(err, std::regex(R"(\[r1\] INFO  rank one, all ranks on)"))) << err;
}

TEST_F(Logging, NonZeroRankStillWritesItsFile) {
  ScratchDir dir;
  auto path = dir.path("rank2.log");
  log::init({2, log::Level::info, false, path, log::Level::debug});
  ::testing::internal::CaptureStderr();
  ELM_LOG(info) << "file only";
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(std::regex_search(lines[0], std::regex(R"(\[r2\] INFO  file only$)")));
}

TEST_F(Logging, WorksBeforeInit) {
  std::vector<std::unique_ptr<ScopedEnv>> env;
  for (const char* v : kRankVars) env.push_back(std::make_unique<ScopedEnv>(v, std::nullopt));
  // No init(): console at info on the detected rank (0).
  ::testing::internal::CaptureStderr();
  ELM_LOG(info) << "early";
  ELM_LOG(debug) << "early debug";
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(std::regex_search(err, std::regex(R"(\[r0\] INFO  early\n)"))) << err;
  EXPECT_EQ(err.find("early debug"), std::string::npos);
  EXPECT_TRUE(log::enabled(log::Level::info));
  EXPECT_FALSE(log::enabled(log::Level::debug));
}

TEST_F(Logging, DetectedRankIsUsedWhenOptionsSayMinusOne) {
  std::vector<std::unique_ptr<ScopedEnv>> env;
  for (const char* v : kRankVars) env.push_back(std::make_unique<ScopedEnv>(v, std::nullopt));
  ScopedEnv slurm("SLURM_PROCID", "7");
  log::init({});
  EXPECT_EQ(log::rank(), 7);
}

TEST_F(Logging, ConcurrentWritersNeverInterleave) {
  ScratchDir dir;
  auto path = dir.path("mt.log");
  log::init({0, log::Level::error, false, path, log::Level::debug});
  constexpr int kThreads = 4, kLines = 250;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) ELM_LOG(info) << "thread " << t << " line " << i << " end";
    });
  }
  for (auto& th : threads) th.join();
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kLines));
  std::vector<int> per_thread(kThreads, 0);
  const std::regex body(R"(thread (\d) line (\d+) end)");
  for (const auto& l : lines) {
    std::smatch m, b;
    ASSERT_TRUE(std::regex_match(l, m, kLine)) << l;
    std::string msg = m[3];
    ASSERT_TRUE(std::regex_match(msg, b, body)) << l;
    // Lines of one thread arrive in order.
    int t = std::stoi(b[1]);
    EXPECT_EQ(std::stoi(b[2]), per_thread[t]++);
  }
}

TEST(DetectRank, ReadsLauncherVariablesInOrder) {
  std::vector<std::unique_ptr<ScopedEnv>> env;
  for (const char* v : kRankVars) env.push_back(std::make_unique<ScopedEnv>(v, std::nullopt));
  EXPECT_EQ(log::detect_rank(), 0);
  {
    ScopedEnv s("SLURM_PROCID", "4");
    EXPECT_EQ(log::detect_rank(), 4);
    ScopedEnv p("PMI_RANK", "3");
    EXPECT_EQ(log::detect_rank(), 3);
    ScopedEnv x("PMIX_RANK", "2");
    EXPECT_EQ(log::detect_rank(), 2);
    ScopedEnv o("OMPI_COMM_WORLD_RANK", "1");
    EXPECT_EQ(log::detect_rank(), 1);
  }
  {
    ScopedEnv bad("OMPI_COMM_WORLD_RANK", "abc");  // invalid values are skipped
    ScopedEnv neg("PMIX_RANK", "-1");
    ScopedEnv empty("PMI_RANK", "");
    ScopedEnv ok("SLURM_PROCID", "12");
    EXPECT_EQ(log::detect_rank(), 12);
  }
  EXPECT_EQ(log::detect_rank(), 0);
}

}  // namespace
}  // namespace elm
