#pragma once
// Strict safetensors reader (mmap, fully validated on open) and atomic writer. Format and reader rules:
// /work/shared/SPECS.md section 2 and docs/safetensors.md. Every failure is an elm::Error naming the file
// and, where one is involved, the tensor.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/dtype.h"
#include "io/mapped_file.h"

namespace elm::io {

// Header-length limit (bytes), as in the reference implementation.
inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets relative to the data section; end exclusive
  int64_t numel() const;        // product of shape; 1 for a scalar []
  uint64_t nbytes() const { return end - begin; }
};

// One .safetensors file, memory-mapped and fully validated on open.
class SafetensorsFile {
 public:
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);

  const std::string& path() const { return map_.path(); }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // sorted by offset (file order)
  const TensorInfo* find(std::string_view name) const;                 // nullptr if absent
  // Start of the tensor's bytes in the mapping; may be unaligned (memcpy to read).
  const uint8_t* data(const TensorInfo& t) const { return map_.data() + data_start_ + t.begin; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  uint64_t header_size() const { return data_start_ - 8; }  // N, the JSON header length
  uint64_t file_size() const { return map_.size(); }

 private:
  SafetensorsFile() = default;

  MappedFile map_;
  uint64_t data_start_ = 0;  // 8 + N
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

// A checkpoint: a single .safetensors file, a *.safetensors.index.json file, or a directory holding
// model.safetensors (preferred) or model.safetensors.index.json
// ({"metadata":{...},"weight_map":{name: file}}). All shards are opened (and validated) eagerly, and
// every weight_map entry must exist in its shard. Copies share the mapped shards.
class SafetensorsCheckpoint {
 public:
  static SafetensorsCheckpoint open(const std::string& file_or_dir);

  const std::string& path() const { return path_; }  // what open() was given
  bool contains(std::string_view name) const;
  const TensorInfo& info(std::string_view name) const;  // throws elm::Error naming tensor and checkpoint
  std::vector<std::string> names() const;               // sorted
  const std::string& file_of(std::string_view name) const;  // path of the shard holding the tensor
  // Converts BF16 / F16 / F32 / F64 and the integer types to float32; integers must be exactly
  // representable (|v| <= 2^24 or otherwise exact), else elm::Error. out must hold info(name).numel()
  // floats. BOOL and F8 throw (naming tensor and file).
  void read_as_f32(std::string_view name, float* out) const;
  // Converts BF16 (exact copy) / F16 / F32 to bfloat16 bit patterns (round to nearest even); others throw.
  // out must hold info(name).numel() values.
  void read_as_bf16(std::string_view name, uint16_t* out) const;
  const uint8_t* raw(std::string_view name) const;  // the tensor's bytes, maybe unaligned

 private:
  struct Entry {
    std::shared_ptr<const SafetensorsFile> file;
    const TensorInfo* info;
  };
  const Entry& entry(std::string_view name) const;

  std::string path_;
  std::map<std::string, Entry, std::less<>> entries_;
};

struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data;  // numel * dtype_bytes bytes, little-endian, row-major; may be null when that is 0
};

// Writes header + data (header padded with spaces to a multiple of 8; __metadata__ first when non-empty;
// tensors in the given order, contiguous) to path + ".tmp", fsyncs, then renames over path (and fsyncs
// the directory), so a crash never leaves a half-written file under the final name. On failure the .tmp
// file is removed and elm::Error names the path (and the tensor, for invalid input).
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace elm::io
