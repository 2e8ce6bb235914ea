#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "core/config.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/run_dir.h"
#include "core/threads.h"
#include "core_test_util.h"

namespace elm {
namespace {

namespace fs = std::filesystem;
using test::ScopedEnv;
using test::ScratchDir;

TEST(RunDir, EmptyRunDirCreatesNothing) {
  Config c;
  RunDir run = prepare_run_dir(c, "generate", 0);
  EXPECT_FALSE(run.enabled());
  EXPECT_EQ(run.root, "");
  EXPECT_EQ(run.log_file, "");
  EXPECT_EQ(logging_options(c, run).file, "");
}

TEST(RunDir, CreatesLayoutAndResolvedConfig) {
  ScratchDir dir;
  Config c;
  c.apply_cli({"run.dir=" + dir.path("runs/exp1"), "run.name=first try", "generation.top_k=3"});
  RunDir run = prepare_run_dir(c, "explicitlm generate --generation.top_k 3", 0);
  ASSERT_TRUE(run.enabled());
  EXPECT_TRUE(fs::is_directory(dir.path("runs/exp1/logs")));
  EXPECT_EQ(fs::path(run.log_file), fs::path(dir.path("runs/exp1/logs/rank0.log")));
  EXPECT_EQ(fs::path(run.config_file), fs::path(dir.path("runs/exp1/config.resolved.toml")));
  ASSERT_TRUE(fs::exists(run.config_file));

  std::string text = test::read_file(run.config_file);
  EXPECT_CONTAINS(text, "# command: explicitlm generate --generation.top_k 3\n");
  EXPECT_CONTAINS(text, "# run name: first try\n");
  EXPECT_CONTAINS(text, "# version: ");
  Config back;
  back.load_file(run.config_file);
  EXPECT_TRUE(back == c);
  EXPECT_EQ(back.get_int("generation.top_k"), 3);

  // Reusing the directory (resume) works; other ranks get their own log file and do not write
  // the config.
  fs::remove(run.config_file);
  RunDir r2 = prepare_run_dir(c, "resume", 2);
  EXPECT_EQ(fs::path(r2.log_file).filename(), "rank2.log");
  EXPECT_FALSE(fs::exists(r2.config_file));
}

TEST(RunDir, LoggingOptionsFollowConfig) {
  ScratchDir dir;
  Config c;
  c.apply_cli({"run.dir=" + dir.path("r"), "logging.level=warning", "logging.file_level=trace",
               "logging.all_ranks_console=true"});
  RunDir run = prepare_run_dir(c, "test", 1);
  log::Options o = logging_options(c, run);
  EXPECT_EQ(o.console_level, log::Level::warning);
  EXPECT_EQ(o.file_level, log::Level::trace);
  EXPECT_TRUE(o.console_all_ranks);
  EXPECT_EQ(o.file, run.log_file);
  EXPECT_EQ(o.rank, -1);
}

TEST(RunDir, PathThatIsAFileIsAnError) {
  ScratchDir dir;
  auto file = dir.write("occupied", "x");
  Config c;
  c.apply_override("run.dir=" + file);
  auto msg = test::error_of([&] { prepare_run_dir(c, "x", 0); });
  EXPECT_CONTAINS(msg, "cannot create run directory");
  EXPECT_CONTAINS(msg, file);
}

TEST(Threads, ConfiguredWins) {
  ScopedEnv omp("OMP_NUM_THREADS", "3");
  EXPECT_EQ(resolve_thread_count(5), 5);
  EXPECT_EQ(resolve_thread_count(1), 1);
}

TEST(Threads, OmpNumThreadsWhenNotConfigured) {
  {
    ScopedEnv omp("OMP_NUM_THREADS", "3");
    EXPECT_EQ(resolve_thread_count(0), 3);
    EXPECT_EQ(resolve_thread_count(-1), 3);
  }
  {
    ScopedEnv omp("OMP_NUM_THREADS", "8,2");  // nested list: the outer level
    EXPECT_EQ(resolve_thread_count(0), 8);
  }
  for (const char* bad : {"", "abc", "0", "-4", "3x"}) {
    ScopedEnv omp("OMP_NUM_THREADS", std::string(bad));
    EXPECT_EQ(resolve_thread_count(0), available_cores()) << "OMP_NUM_THREADS=" << bad;
  }
}

TEST(Threads, AllCoresWithoutEnv) {
  ScopedEnv omp("OMP_NUM_THREADS", std::nullopt);
  int cores = available_cores();
  EXPECT_GE(cores, 1);
  unsigned hw = std::thread::hardware_concurrency();
  if (hw > 0) EXPECT_LE(cores, static_cast<int>(hw));
  EXPECT_EQ(resolve_thread_count(0), cores);
}

}  // namespace
}  // namespace elm
