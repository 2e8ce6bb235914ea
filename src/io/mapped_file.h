#pragma once
// RAII read-only memory map of a whole file (move-only). The mapping is private and read-only; the file
// descriptor is closed right after mmap. An empty file maps to data() == nullptr, size() == 0.
#include <cstddef>
#include <cstdint>
#include <string>

namespace elm::io {

class MappedFile {
 public:
  MappedFile() = default;
  // Throws elm::Error naming the path when the file cannot be opened, is not a regular file, or mmap fails.
  static MappedFile open(const std::string& path);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void reset() noexcept;

  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace elm::io
