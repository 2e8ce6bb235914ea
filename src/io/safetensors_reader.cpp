// SafetensorsFile: open, validate, look up. Validation follows SPECS.md section 2 / safetensors'
// tensor.rs: header length <= 1e8 and inside the file, UTF-8 JSON object, well-typed entries, known
// dtypes, non-negative dims, end-begin == numel*bytes, contiguous data from offset 0, and
// 8 + N + last_end == file size. Nothing here reads outside the mapping whatever the input.
#include <algorithm>
#include <cstring>
#include <limits>
#include <set>
#include <utility>
#include <vector>

#include "core/error.h"
#include "io/json_strict.h"
#include "io/safetensors.h"

namespace elm::io {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

namespace detail {

bool valid_utf8(const char* s, size_t n, size_t* bad_at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s);
  size_t i = 0;
  auto bad = [&](size_t at) {
    if (bad_at) *bad_at = at;
    return false;
  };
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return bad(i);
    }
    if (n - i < len) return bad(i);
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0u) != 0x80u) return bad(i);
      cp = (cp << 6) | (p[i + k] & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return bad(i);
    i += len;
  }
  return true;
}

nlohmann::json parse_json_strict(const char* begin, const char* end, const std::string& context) {
  constexpr int kMaxDepth = 64;
  size_t bad_at = 0;
  if (!valid_utf8(begin, static_cast<size_t>(end - begin), &bad_at))
    fail(context, ": header is not valid UTF-8 (bad byte at header offset ", bad_at, ")");

  struct Duplicate {
    std::string key;
  };
  struct TooDeep {};
  std::vector<std::set<std::string>> open_objects;
  auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) -> bool {
    using E = nlohmann::json::parse_event_t;
    switch (event) {
      case E::object_start:
        if (depth >= kMaxDepth) throw TooDeep{};
        open_objects.emplace_back();
        break;
      case E::array_start:
        if (depth >= kMaxDepth) throw TooDeep{};
        break;
      case E::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case E::key:
        if (parsed.is_string() && !open_objects.empty() &&
            !open_objects.back().insert(parsed.get_ref<const std::string&>()).second)
          throw Duplicate{parsed.get<std::string>()};
        break;
      default:
        break;
    }
    return true;
  };
  try {
    return nlohmann::json::parse(begin, end, callback, /*allow_exceptions=*/true);
  } catch (const Duplicate& d) {
    fail(context, ": duplicate key '", d.key, "' in JSON header");
  } catch (const TooDeep&) {
    fail(context, ": JSON nested deeper than ", kMaxDepth, " levels");
  } catch (const nlohmann::json::exception& e) {
    fail(context, ": invalid JSON: ", e.what());
  }
}

}  // namespace detail

int64_t TensorInfo::numel() const {
  for (int64_t d : shape)
    if (d == 0) return 0;  // before multiplying: a zero dim next to huge ones must not overflow
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

// A JSON integer that fits in [0, max]; nullopt for anything else (negative, float, too large, non-number).
std::optional<uint64_t> json_u64(const nlohmann::json& j, uint64_t max) {
  if (j.is_number_unsigned()) {
    const uint64_t v = j.get<uint64_t>();
    if (v <= max) return v;
    return std::nullopt;
  }
  if (j.is_number_integer()) {  // signed representation: only non-negative values are accepted
    const int64_t v = j.get<int64_t>();
    if (v >= 0 && static_cast<uint64_t>(v) <= max) return static_cast<uint64_t>(v);
  }
  return std::nullopt;
}

TensorInfo parse_entry(const std::string& ctx, const std::string& name, const nlohmann::json& e) {
  const std::string where = ctx + ": tensor '" + name + "'";
  if (!e.is_object()) fail(where, ": header entry is not a JSON object");
  TensorInfo t;
  t.name = name;

  auto dt = e.find("dtype");
  if (dt == e.end()) fail(where, ": missing 'dtype'");
  if (!dt->is_string()) fail(where, ": 'dtype' is not a string");
  const auto parsed = parse_dtype(dt->get_ref<const std::string&>());
  if (!parsed) fail(where, ": unknown dtype '", dt->get_ref<const std::string&>(), "'");
  t.dtype = *parsed;

  auto sh = e.find("shape");
  if (sh == e.end()) fail(where, ": missing 'shape'");
  if (!sh->is_array()) fail(where, ": 'shape' is not an array");
  t.shape.reserve(sh->size());
  for (size_t i = 0; i < sh->size(); ++i) {
    const auto& d = (*sh)[i];
    if (d.is_number_integer() && !d.is_number_unsigned() && d.get<int64_t>() < 0)
      fail(where, ": negative dimension ", d.get<int64_t>(), " at shape[", i, "]");
    const auto v = json_u64(d, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
    if (!v) fail(where, ": shape[", i, "] is not a non-negative 64-bit integer: ", d.dump());
    t.shape.push_back(static_cast<int64_t>(*v));
  }

  auto off = e.find("data_offsets");
  if (off == e.end()) fail(where, ": missing 'data_offsets'");
  if (!off->is_array() || off->size() != 2) fail(where, ": 'data_offsets' is not a [begin, end] pair");
  const auto b = json_u64((*off)[0], std::numeric_limits<uint64_t>::max());
  const auto en = json_u64((*off)[1], std::numeric_limits<uint64_t>::max());
  if (!b || !en) fail(where, ": 'data_offsets' must hold two non-negative integers, got ", off->dump());
  if (*b > *en) fail(where, ": data_offsets begin ", *b, " > end ", *en);
  t.begin = *b;
  t.end = *en;

  // Expected byte size, with overflow checks (any zero dim means no data, whatever the other dims).
  const uint64_t elem = dtype_bytes(t.dtype);
  uint64_t expected = 0;
  const bool has_zero = std::find(t.shape.begin(), t.shape.end(), int64_t{0}) != t.shape.end();
  if (!has_zero) {
    uint64_t n = 1;
    for (int64_t d : t.shape) {
      const auto ud = static_cast<uint64_t>(d);
      if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / ud)
        fail(where, ": element count overflows (shape too large)");
      n *= ud;
    }
    if (n > std::numeric_limits<uint64_t>::max() / elem) fail(where, ": byte size overflows (shape too large)");
    expected = n * elem;
  }
  if (t.nbytes() != expected)
    fail(where, ": data_offsets span ", t.nbytes(), " bytes but dtype ", dtype_name(t.dtype), " x shape needs ",
         expected);
  return t;
}

}  // namespace

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  const std::string ctx = "safetensors file '" + path + "'";
  try {
    f->map_ = MappedFile::open(path);
  } catch (const Error& e) {
    fail(ctx, ": ", e.what());
  }
  const uint64_t size = f->map_.size();
  if (size < 8) fail(ctx, ": file is ", size, " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  std::memcpy(&n, f->map_.data(), 8);
  if (n > kMaxSafetensorsHeader)
    fail(ctx, ": header length ", n, " exceeds the limit of ", kMaxSafetensorsHeader, " bytes");
  if (n > size - 8) fail(ctx, ": header length ", n, " runs past the end of the file (", size, " bytes)");
  f->data_start_ = 8 + n;

  const char* hb = reinterpret_cast<const char*>(f->map_.data()) + 8;
  const nlohmann::json header = detail::parse_json_strict(hb, hb + n, ctx);
  if (!header.is_object()) fail(ctx, ": header is not a JSON object");

  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail(ctx, ": '__metadata__' is not a JSON object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) fail(ctx, ": __metadata__ value for key '", mk, "' is not a string");
        f->metadata_.emplace(mk, mv.get<std::string>());
      }
      continue;
    }
    f->tensors_.push_back(parse_entry(ctx, key, value));
  }

  std::sort(f->tensors_.begin(), f->tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end < b.end;
    return a.name < b.name;
  });
  uint64_t expect_begin = 0;
  for (const auto& t : f->tensors_) {
    if (t.begin != expect_begin) {
      if (t.begin < expect_begin)
        fail(ctx, ": tensor '", t.name, "' data_offsets [", t.begin, ", ", t.end, "] overlap the previous tensor (ends at ",
             expect_begin, ")");
      fail(ctx, ": tensor '", t.name, "' data_offsets [", t.begin, ", ", t.end, "] leave a gap: expected it to begin at ",
           expect_begin, " (tensors must be contiguous from offset 0)");
    }
    expect_begin = t.end;
  }
  const uint64_t data_size = size - f->data_start_;
  if (expect_begin != data_size) {
    if (expect_begin > data_size)
      fail(ctx, ": file is truncated: tensor data needs ", expect_begin, " bytes after the header, file has ", data_size);
    fail(ctx, ": ", data_size - expect_begin, " trailing bytes after the last tensor (data section ", data_size,
         " bytes, tensors cover ", expect_begin, ")");
  }
  for (size_t i = 0; i < f->tensors_.size(); ++i) f->index_.emplace(f->tensors_[i].name, i);
  return f;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace elm::io
