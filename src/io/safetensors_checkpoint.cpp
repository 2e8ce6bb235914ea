// SafetensorsCheckpoint: a single file or a sharded directory (model.safetensors.index.json), plus the
// dtype conversions to float32 / bfloat16.
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "core/error.h"
#include "io/half.h"
#include "io/json_strict.h"
#include "io/safetensors.h"

namespace elm::io {
namespace fs = std::filesystem;

namespace {

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string read_small_file(const std::string& path, const std::string& ctx) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ctx, ": cannot open file");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) fail(ctx, ": cannot determine file size");
  if (static_cast<uint64_t>(size) > kMaxSafetensorsHeader)
    fail(ctx, ": file is ", size, " bytes, larger than the ", kMaxSafetensorsHeader, "-byte limit for an index");
  in.seekg(0, std::ios::beg);
  std::string text(static_cast<size_t>(size), '\0');
  if (size > 0 && !in.read(text.data(), size)) fail(ctx, ": read failed");
  return text;
}

// Rejects shard names that could point outside the checkpoint directory.
void check_shard_name(const std::string& ctx, const std::string& tensor, const std::string& shard) {
  if (shard.empty()) fail(ctx, ": weight_map entry for tensor '", tensor, "' names an empty file");
  const fs::path p(shard);
  if (p.is_absolute()) fail(ctx, ": weight_map entry for tensor '", tensor, "' is an absolute path '", shard, "'");
  for (const auto& part : p)
    if (part == "..") fail(ctx, ": weight_map entry for tensor '", tensor, "' leaves the directory: '", shard, "'");
}

}  // namespace

SafetensorsCheckpoint SafetensorsCheckpoint::open(const std::string& file_or_dir) {
  SafetensorsCheckpoint ck;
  ck.path_ = file_or_dir;

  std::string single, index;
  if (is_dir(file_or_dir)) {
    const std::string s = (fs::path(file_or_dir) / "model.safetensors").string();
    const std::string i = (fs::path(file_or_dir) / "model.safetensors.index.json").string();
    if (is_file(s))
      single = s;
    else if (is_file(i))
      index = i;
    else
      fail("checkpoint directory '", file_or_dir,
           "' has neither model.safetensors nor model.safetensors.index.json");
  } else if (ends_with(file_or_dir, ".index.json")) {
    index = file_or_dir;
  } else {
    single = file_or_dir;  // SafetensorsFile::open reports a missing / unreadable file
  }

  if (!single.empty()) {
    std::shared_ptr<const SafetensorsFile> f = SafetensorsFile::open(single);
    for (const auto& t : f->tensors()) ck.entries_.emplace(t.name, Entry{f, &t});
    return ck;
  }

  const std::string ctx = "safetensors index '" + index + "'";
  const std::string text = read_small_file(index, ctx);
  const nlohmann::json j = detail::parse_json_strict(text.data(), text.data() + text.size(), ctx);
  if (!j.is_object()) fail(ctx, ": not a JSON object");
  if (auto m = j.find("metadata"); m != j.end() && !m->is_object() && !m->is_null())
    fail(ctx, ": 'metadata' is not a JSON object");
  auto wm = j.find("weight_map");
  if (wm == j.end()) fail(ctx, ": missing 'weight_map'");
  if (!wm->is_object()) fail(ctx, ": 'weight_map' is not a JSON object");

  const fs::path dir = fs::path(index).parent_path();
  std::map<std::string, std::shared_ptr<const SafetensorsFile>> shards;
  for (const auto& [name, shard_json] : wm->items()) {
    if (!shard_json.is_string()) fail(ctx, ": weight_map entry for tensor '", name, "' is not a string");
    const std::string& shard = shard_json.get_ref<const std::string&>();
    check_shard_name(ctx, name, shard);
    auto it = shards.find(shard);
    if (it == shards.end()) {
      try {
        it = shards.emplace(shard, SafetensorsFile::open((dir / shard).string())).first;
      } catch (const Error& e) {
        fail(ctx, ": shard '", shard, "' (for tensor '", name, "'): ", e.what());
      }
    }
    const TensorInfo* info = it->second->find(name);
    if (info == nullptr)
      fail(ctx, ": weight_map puts tensor '", name, "' in '", it->second->path(), "' but that file does not contain it");
    ck.entries_.emplace(name, Entry{it->second, info});
  }
  return ck;
}

const SafetensorsCheckpoint::Entry& SafetensorsCheckpoint::entry(std::string_view name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) fail("tensor '", name, "' not found in checkpoint '", path_, "'");
  return it->second;
}

bool SafetensorsCheckpoint::contains(std::string_view name) const { return entries_.find(name) != entries_.end(); }

const TensorInfo& SafetensorsCheckpoint::info(std::string_view name) const { return *entry(name).info; }

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& kv : entries_) out.push_back(kv.first);
  return out;
}

const std::string& SafetensorsCheckpoint::file_of(std::string_view name) const { return entry(name).file->path(); }

const uint8_t* SafetensorsCheckpoint::raw(std::string_view name) const {
  const Entry& e = entry(name);
  return e.file->data(*e.info);
}

namespace {

template <class T>
T load(const uint8_t* p, size_t i) {
  T v;
  std::memcpy(&v, p + i * sizeof(T), sizeof(T));
  return v;
}

// Integer -> float, exactly or not at all. Returns false when v has no exact float32 representation.
template <class T>
bool int_to_f32_exact(T v, float* out) {
  const float f = static_cast<float>(v);
  // f < 2^digits keeps the cast back in range (the lower bound -2^digits is itself exact).
  if (f >= std::ldexp(1.0f, std::numeric_limits<T>::digits)) return false;
  if (static_cast<T>(f) != v) return false;
  *out = f;
  return true;
}

template <class T>
void ints_to_f32(const uint8_t* p, size_t n, float* out, const std::string& name, const std::string& file) {
  for (size_t i = 0; i < n; ++i) {
    const T v = load<T>(p, i);
    if constexpr (sizeof(T) <= 2) {
      out[i] = static_cast<float>(v);
    } else if (!int_to_f32_exact(v, &out[i])) {
      fail("tensor '", name, "' in '", file, "': element ", i, " = ", +v, " is not exactly representable as float32");
    }
  }
}

}  // namespace

void SafetensorsCheckpoint::read_as_f32(std::string_view name, float* out) const {
  const Entry& e = entry(name);
  const TensorInfo& t = *e.info;
  const uint8_t* p = e.file->data(t);
  const auto n = static_cast<size_t>(t.numel());
  switch (t.dtype) {
    case DType::F32:
      if (n) std::memcpy(out, p, n * sizeof(float));
      return;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) out[i] = bf16_to_f32(load<uint16_t>(p, i));
      return;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) out[i] = f16_to_f32(load<uint16_t>(p, i));
      return;
    case DType::F64:
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load<double>(p, i));
      return;
    case DType::U8: return ints_to_f32<uint8_t>(p, n, out, t.name, e.file->path());
    case DType::I8: return ints_to_f32<int8_t>(p, n, out, t.name, e.file->path());
    case DType::U16: return ints_to_f32<uint16_t>(p, n, out, t.name, e.file->path());
    case DType::I16: return ints_to_f32<int16_t>(p, n, out, t.name, e.file->path());
    case DType::U32: return ints_to_f32<uint32_t>(p, n, out, t.name, e.file->path());
    case DType::I32: return ints_to_f32<int32_t>(p, n, out, t.name, e.file->path());
    case DType::U64: return ints_to_f32<uint64_t>(p, n, out, t.name, e.file->path());
    case DType::I64: return ints_to_f32<int64_t>(p, n, out, t.name, e.file->path());
    case DType::BOOL:
    case DType::F8_E4M3:
    case DType::F8_E5M2:
      break;
  }
  fail("tensor '", t.name, "' in '", e.file->path(), "': cannot convert dtype ", dtype_name(t.dtype), " to float32");
}

void SafetensorsCheckpoint::read_as_bf16(std::string_view name, uint16_t* out) const {
  const Entry& e = entry(name);
  const TensorInfo& t = *e.info;
  const uint8_t* p = e.file->data(t);
  const auto n = static_cast<size_t>(t.numel());
  switch (t.dtype) {
    case DType::BF16:
      if (n) std::memcpy(out, p, n * sizeof(uint16_t));
      return;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) out[i] = f32_to_bf16(f16_to_f32(load<uint16_t>(p, i)));
      return;
    case DType::F32:
      for (size_t i = 0; i < n; ++i) out[i] = f32_to_bf16(load<float>(p, i));
      return;
    default:
      break;
  }
  fail("tensor '", t.name, "' in '", e.file->path(), "': cannot convert dtype ", dtype_name(t.dtype), " to bfloat16");
}

}  // namespace elm::io
