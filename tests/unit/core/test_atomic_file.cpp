// AtomicFileWriter: the final path appears only on commit, never half-written.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "support/scratch_dir.h"

namespace elm {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) { return testing::scratch_dir("atomic", name); }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(AtomicFile, CommitPublishesContentAndRemovesTmp) {
  const auto path = fresh_dir("commit") / "out.bin";
  write_file_atomic(path.string(), std::string_view("hello"));
  EXPECT_EQ(slurp(path), "hello");
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
}

TEST(AtomicFile, AbandonedWriterLeavesOldFileUntouched) {
  const auto path = fresh_dir("abandon") / "out.bin";
  write_file_atomic(path.string(), std::string_view("old"));
  {
    AtomicFileWriter writer(path.string());
    writer.write("new content", 11);
    EXPECT_TRUE(fs::exists(writer.tmp_path()));
  }  // no commit: as if the process failed half-way
  EXPECT_EQ(slurp(path), "old");
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
}

TEST(AtomicFile, MissingDirectoryIsAnErrorNamingThePath) {
  const auto path = fresh_dir("missing") / "no" / "such" / "out.bin";
  try {
    write_file_atomic(path.string(), std::string_view("x"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out.bin.tmp"), std::string::npos) << e.what();
  }
}

TEST(AtomicFile, DoubleCommitIsAnError) {
  const auto path = fresh_dir("twice") / "out.bin";
  AtomicFileWriter writer(path.string());
  writer.commit();
  EXPECT_THROW(writer.commit(), Error);
  EXPECT_TRUE(fs::exists(path));
}

}  // namespace
}  // namespace elm
