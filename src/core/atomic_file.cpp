#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace elm {
namespace {

// Makes the rename itself durable. Best effort: the data is already in place when this fails.
void sync_parent_dir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string final_path)
    : final_path_(std::move(final_path)), tmp_path_(final_path_ + ".tmp") {
  fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot create '", tmp_path_, "': ", std::strerror(errno));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_path_.c_str());
}

void AtomicFileWriter::write(const void* data, size_t n) {
  ELM_CHECK(fd_ >= 0, "write to '", tmp_path_, "' after commit");
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, std::min<size_t>(n, size_t{1} << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("write to '", tmp_path_, "' failed: ", std::strerror(errno));
    }
    if (w == 0) fail("write to '", tmp_path_, "' made no progress");
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void AtomicFileWriter::commit() {
  ELM_CHECK(fd_ >= 0, "commit of '", final_path_, "' twice");
  if (::fsync(fd_) != 0) fail("fsync of '", tmp_path_, "' failed: ", std::strerror(errno));
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("close of '", tmp_path_, "' failed: ", std::strerror(errno));
  if (::rename(tmp_path_.c_str(), final_path_.c_str()) != 0) {
    fail("cannot rename '", tmp_path_, "' to '", final_path_, "': ", std::strerror(errno));
  }
  committed_ = true;
  sync_parent_dir(final_path_);
}

void write_file_atomic(const std::string& path, const void* data, size_t size) {
  AtomicFileWriter writer(path);
  writer.write(data, size);
  writer.commit();
}

void write_file_atomic(const std::string& path, std::string_view text) {
  write_file_atomic(path, text.data(), text.size());
}

}  // namespace elm
