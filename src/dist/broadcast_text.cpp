#include "dist/broadcast_text.h"

#include <cstring>

namespace elm::dist {

std::string broadcast_string(Communicator& comm, const std::string& text, int root) {
  // Two broadcasts: the length (so receivers can size their buffer), then the bytes.
  auto length = torch::tensor({static_cast<int64_t>(comm.rank() == root ? text.size() : 0)}, torch::kInt64);
  comm.broadcast(length, root);
  const int64_t n = length.item<int64_t>();
  auto bytes = torch::zeros({n}, torch::kUInt8);
  if (comm.rank() == root && n > 0) std::memcpy(bytes.data_ptr<uint8_t>(), text.data(), static_cast<size_t>(n));
  if (n > 0) comm.broadcast(bytes, root);
  return std::string(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), static_cast<size_t>(n));
}

}  // namespace elm::dist
