#pragma once
// Shared helpers for the io tests: a per-test temp directory and raw safetensors byte builders.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"

namespace elm::io::test {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, named after the running test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "elm_io_";
    if (info) name += std::string(info->test_suite_name()) + "_" + info->name();
    for (char& c : name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
    path_ = fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  // Unlink first: rewriting a file in place via O_TRUNC makes ext4 (auto_da_alloc) flush it on close,
  // which turns the fuzz loop from milliseconds into seconds.
  std::error_code ec;
  fs::remove(path, ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

inline void write_text(const std::string& path, const std::string& text) {
  write_bytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// 8-byte little-endian length `n`, then `header` bytes, then `data_bytes` bytes of `fill`.
inline std::vector<uint8_t> raw_file(uint64_t n, const std::string& header, size_t data_bytes, uint8_t fill = 0) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xFF);
  s += header;
  s.append(data_bytes, static_cast<char>(fill));
  return std::vector<uint8_t>(s.begin(), s.end());
}

// A well-formed length prefix for `header`.
inline std::vector<uint8_t> st_file(const std::string& header, size_t data_bytes, uint8_t fill = 0) {
  return raw_file(header.size(), header, data_bytes, fill);
}

// Runs fn; returns the elm::Error message ("" if nothing was thrown). Any other exception fails the test.
inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const elm::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected non-elm exception: " << e.what();
    return "<non-elm exception>";
  }
  return "";
}

}  // namespace elm::io::test
