#include "dist/named_transfer.h"

#include <cstring>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace elm::dist {

void send_named(Communicator& comm, const NamedTensorList& tensors, int dst, int tag) {
  nlohmann::json header = nlohmann::json::array();
  for (const auto& [name, t] : tensors) {
    header.push_back({{"name", name}, {"dtype", static_cast<int>(t.scalar_type())}, {"shape", t.sizes().vec()}});
  }
  const std::string text = header.dump();
  auto length = torch::tensor({static_cast<int64_t>(text.size())}, torch::kInt64);
  comm.send(length, dst, tag);
  auto bytes = torch::empty({static_cast<int64_t>(text.size())}, torch::kUInt8);
  std::memcpy(bytes.data_ptr(), text.data(), text.size());
  if (!text.empty()) comm.send(bytes, dst, tag);
  for (const auto& [name, t] : tensors) {
    if (t.numel() > 0) comm.send(t.detach().contiguous(), dst, tag);
  }
}

NamedTensorList receive_named(Communicator& comm, int src, int tag) {
  auto length = torch::empty({1}, torch::kInt64);
  comm.recv(length, src, tag);
  const int64_t n = length.item<int64_t>();
  ELM_CHECK(n >= 0, "receive_named from rank ", src, ": bad header length ", n);
  std::string text(static_cast<size_t>(n), '\0');
  if (n > 0) {
    auto bytes = torch::empty({n}, torch::kUInt8);
    comm.recv(bytes, src, tag);
    std::memcpy(text.data(), bytes.data_ptr(), static_cast<size_t>(n));
  }
  NamedTensorList out;
  for (const auto& item : nlohmann::json::parse(text)) {
    auto dtype = static_cast<torch::ScalarType>(item.at("dtype").get<int>());
    torch::Tensor t = torch::empty(item.at("shape").get<std::vector<int64_t>>(), torch::TensorOptions().dtype(dtype));
    if (t.numel() > 0) comm.recv(t, src, tag);
    out.emplace_back(item.at("name").get<std::string>(), t);
  }
  return out;
}

}  // namespace elm::dist
