// write_safetensors: header + contiguous data, published atomically through AtomicFileWriter.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/atomic_file.h"
#include "io/safetensors.h"

namespace elm::io {
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
    AtomicFileWriter out(path);
    const uint64_t n = text.size();
    out.write(&n, 8);  // little-endian host (checked in safetensors_reader.cpp)
    out.write(text.data(), text.size());
    for (size_t i = 0; i < tensors.size(); ++i)
      if (sizes[i] > 0) out.write(tensors[i].data, sizes[i]);
    out.commit();
  } catch (const Error& e) {
    fail(ctx, ": ", e.what());
  }
}

}  // namespace elm::io
