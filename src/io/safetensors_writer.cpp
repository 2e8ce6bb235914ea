// write_safetensors: header + contiguous data to path.tmp, fsync, rename over path, fsync the directory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/safetensors.h"

namespace elm::io {
namespace {

class TmpFile {
 public:
  explicit TmpFile(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("cannot create '", path_, "': ", std::strerror(errno));
  }
  TmpFile(const TmpFile&) = delete;
  TmpFile& operator=(const TmpFile&) = delete;
  ~TmpFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }

  void write_all(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (n > 0) {
      const size_t chunk = std::min<size_t>(n, size_t{1} << 30);
      const ssize_t w = ::write(fd_, p, chunk);
      if (w < 0) {
        if (errno == EINTR) continue;
        fail("write to '", path_, "' failed: ", std::strerror(errno));
      }
      if (w == 0) fail("write to '", path_, "' made no progress");
      p += w;
      n -= static_cast<size_t>(w);
    }
  }

  void sync_and_close() {
    if (::fsync(fd_) != 0) fail("fsync of '", path_, "' failed: ", std::strerror(errno));
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("close of '", path_, "' failed: ", std::strerror(errno));
  }

  void rename_to(const std::string& final_path) {
    if (::rename(path_.c_str(), final_path.c_str()) != 0)
      fail("cannot rename '", path_, "' to '", final_path, "': ", std::strerror(errno));
    committed_ = true;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Best effort: makes the rename itself durable. Failure here is not reported (the data is in place).
void sync_parent_dir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string ctx = "writing safetensors file '" + path + "'";
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    auto& m = header["__metadata__"];
    m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
  }

  std::set<std::string_view> seen;
  std::vector<uint64_t> sizes;
  sizes.reserve(tensors.size());
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    const std::string where = ctx + ": tensor '" + t.name + "'";
    if (t.name == "__metadata__") fail(where, ": the name is reserved");
    if (!seen.insert(t.name).second) fail(where, ": duplicate tensor name");
    uint64_t numel = 1;
    bool zero = false;
    for (int64_t d : t.shape) {
      if (d < 0) fail(where, ": negative dimension ", d);
      if (d == 0) zero = true;
    }
    if (zero) {
      numel = 0;
    } else {
      for (int64_t d : t.shape) {
        const auto ud = static_cast<uint64_t>(d);
        if (numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / ud)
          fail(where, ": element count overflows");
        numel *= ud;
      }
    }
    const uint64_t elem = dtype_bytes(t.dtype);
    if (numel > std::numeric_limits<uint64_t>::max() / elem) fail(where, ": byte size overflows");
    const uint64_t nbytes = numel * elem;
    if (nbytes > 0 && t.data == nullptr) fail(where, ": data is null but the tensor has ", nbytes, " bytes");
    if (offset > std::numeric_limits<uint64_t>::max() - nbytes) fail(where, ": total size overflows");
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    sizes.push_back(nbytes);
  }

  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    fail(ctx, ": cannot encode header (tensor names and metadata must be valid UTF-8): ", e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  if (text.size() > kMaxSafetensorsHeader)
    fail(ctx, ": header would be ", text.size(), " bytes, over the ", kMaxSafetensorsHeader, "-byte limit");

  try {
    TmpFile out(path + ".tmp");
    const uint64_t n = text.size();
    out.write_all(&n, 8);  // little-endian host (checked in safetensors_reader.cpp)
    out.write_all(text.data(), text.size());
    for (size_t i = 0; i < tensors.size(); ++i)
      if (sizes[i] > 0) out.write_all(tensors[i].data, sizes[i]);
    out.sync_and_close();
    out.rename_to(path);
  } catch (const Error& e) {
    fail(ctx, ": ", e.what());
  }
  sync_parent_dir(path);
}

}  // namespace elm::io
