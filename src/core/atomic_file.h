#pragma once
// Crash-safe file output: bytes go to PATH.tmp, which is fsynced and renamed over PATH only on
// commit(); an abandoned writer removes its .tmp. A reader never sees a half-written PATH.
#include <cstddef>
#include <string>
#include <string_view>

namespace elm {

class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string final_path);
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();  // removes the .tmp unless committed

  void write(const void* data, size_t size);
  // fsync, close, rename over the final path, fsync the directory (best effort).
  void commit();
  const std::string& tmp_path() const { return tmp_path_; }

 private:
  std::string final_path_, tmp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

void write_file_atomic(const std::string& path, const void* data, size_t size);
void write_file_atomic(const std::string& path, std::string_view text);

}  // namespace elm
