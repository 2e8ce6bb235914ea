#include "io/hdf5_file.h"

#include <hdf5.h>

#include <filesystem>
#include <tuple>
#include <type_traits>

#include "core/error.h"
#include "io/hdf5_detail.h"

static_assert(std::is_same_v<hid_t, int64_t>, "HDF5 >= 1.10 uses 64-bit hid_t");

namespace elm::io {
namespace detail {

// HDF5 prints its error stack to stderr by default; we turn that off (per thread: the default
// stack is thread-local in thread-safe builds) and put the stack into the exception instead.
void quiet() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

herr_t collect_error(unsigned, const H5E_error2_t* err, void* data) {
  auto* parts = static_cast<std::vector<std::string>*>(data);
  std::string desc = err->desc ? err->desc : "";
  if (!desc.empty() && (parts->empty() || parts->back() != desc)) parts->push_back(desc);
  return 0;
}

// The current HDF5 error stack as one line (outermost and innermost entries); clears it.
std::string take_error() {
  std::vector<std::string> parts;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &parts);
  H5Eclear2(H5E_DEFAULT);
  if (parts.empty()) return "unknown HDF5 error";
  // The outermost entry says what failed, the innermost why; the ones between are internal layers.
  std::string out = parts.front();
  if (parts.size() > 1) out += (parts.size() > 2 ? ": ...: " : ": ") + parts.back();
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}


std::string ds_name(const std::string& name) { return name.empty() || name[0] != '/' ? "/" + name : name; }

hid_t checked(hid_t id, const std::string& path, const std::string& what) {
  if (id < 0) fail("HDF5 file ", path, ": ", what, ": ", take_error());
  return id;
}
void checked_status(herr_t status, const std::string& path, const std::string& what) {
  if (status < 0) fail("HDF5 file ", path, ": ", what, ": ", take_error());
}

Handle utf8_string_type(const std::string& path) {
  Handle t(checked(H5Tcopy(H5T_C_S1), path, "string type"), H5Tclose);
  checked_status(H5Tset_size(t.get(), H5T_VARIABLE), path, "string type");
  checked_status(H5Tset_cset(t.get(), H5T_CSET_UTF8), path, "string type");
  return t;
}

// h5py's boolean: enum of int8 {FALSE = 0, TRUE = 1}.
Handle bool_type(const std::string& path) {
  Handle t(checked(H5Tenum_create(H5T_NATIVE_INT8), path, "bool type"), H5Tclose);
  int8_t v = 0;
  checked_status(H5Tenum_insert(t.get(), "FALSE", &v), path, "bool type");
  v = 1;
  checked_status(H5Tenum_insert(t.get(), "TRUE", &v), path, "bool type");
  return t;
}

Handle simple_space(const std::vector<int64_t>& shape, const std::string& path, const std::string& what) {
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  return Handle(checked(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), path, what),
                H5Sclose);
}

int64_t product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace detail
using namespace detail;

const char* to_string(H5Kind kind) {
  switch (kind) {
    case H5Kind::Int32: return "int32";
    case H5Kind::UInt8: return "uint8";
    case H5Kind::Bool: return "bool";
    case H5Kind::String: return "string";
    case H5Kind::Int8: return "int8";
    case H5Kind::Int64: return "int64";
    case H5Kind::UInt16: return "uint16";
    case H5Kind::Float32: return "float32";
    case H5Kind::Float64: return "float64";
    case H5Kind::Other: break;
  }
  return "other";
}

size_t element_size(H5Kind kind) {
  switch (kind) {
    case H5Kind::UInt8:
    case H5Kind::Bool:
    case H5Kind::Int8: return 1;
    case H5Kind::UInt16: return 2;
    case H5Kind::Int32:
    case H5Kind::Float32: return 4;
    case H5Kind::Int64:
    case H5Kind::Float64: return 8;
    case H5Kind::String:
    case H5Kind::Other: break;
  }
  return 0;
}

int64_t H5DatasetInfo::row_size() const {
  int64_t n = 1;
  for (size_t i = 1; i < shape.size(); ++i) n *= shape[i];
  return n;
}

bool is_hdf5_file(const std::string& path) {
  quiet();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  const htri_t r = H5Fis_hdf5(path.c_str());
  H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

H5File H5File::create(const std::string& path) {
  quiet();
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) fail("HDF5 file ", path, ": cannot create: ", take_error());
  return H5File(path, id, true);
}

namespace {

// Opens an existing HDF5 file (H5F_ACC_RDONLY or H5F_ACC_RDWR); `purpose` names the mode in errors.
hid_t open_existing(const std::string& path, unsigned flags, const char* purpose) {
  quiet();
  std::error_code ec;
  ELM_CHECK(std::filesystem::exists(path, ec), "HDF5 file ", path, ": no such file");
  ELM_CHECK(is_hdf5_file(path), "HDF5 file ", path, ": not an HDF5 file");
  const hid_t id = H5Fopen(path.c_str(), flags, H5P_DEFAULT);
  if (id < 0) fail("HDF5 file ", path, ": cannot open for ", purpose, ": ", take_error());
  return id;
}

}  // namespace

H5File H5File::open_read(const std::string& path) {
  return H5File(path, open_existing(path, H5F_ACC_RDONLY, "reading"), false);
}

H5File H5File::open_write(const std::string& path) {
  return H5File(path, open_existing(path, H5F_ACC_RDWR, "writing"), true);
}

H5File::H5File(H5File&& o) noexcept
    : path_(std::move(o.path_)), id_(o.id_), writable_(o.writable_), collective_(o.collective_), rank_(o.rank_),
      dxpl_(o.dxpl_), stats_(std::move(o.stats_)) {
  o.id_ = -1;
  o.dxpl_ = -1;
}

H5File& H5File::operator=(H5File&& o) noexcept {
  if (this != &o) {
    release();
    path_ = std::move(o.path_);
    id_ = o.id_;
    writable_ = o.writable_;
    collective_ = o.collective_;
    rank_ = o.rank_;
    dxpl_ = o.dxpl_;
    stats_ = std::move(o.stats_);
    o.id_ = -1;
    o.dxpl_ = -1;
  }
  return *this;
}

// Closes quietly (a destructor or a move must not throw).
void H5File::release() {
  quiet();
  if (dxpl_ >= 0) H5Pclose(dxpl_);
  dxpl_ = -1;
  if (id_ >= 0) H5Fclose(id_);
  id_ = -1;
  H5Eclear2(H5E_DEFAULT);
}

H5File::~H5File() { release(); }

void H5File::flush() {
  ELM_CHECK(id_ >= 0, "HDF5 file ", path_, ": flush on a closed file");
  quiet();
  checked_status(H5Fflush(id_, H5F_SCOPE_GLOBAL), path_, "flush");
}

void H5File::close() {
  if (id_ < 0) return;
  quiet();
  if (dxpl_ >= 0) H5Pclose(dxpl_);
  dxpl_ = -1;
  const herr_t s = H5Fclose(id_);
  id_ = -1;
  checked_status(s, path_, "close");
}

void H5File::check_writable(const std::string& what) const {
  ELM_CHECK(id_ >= 0, "HDF5 file ", path_, ": ", what, ": file is closed");
  ELM_CHECK(writable_, "HDF5 file ", path_, ": ", what, ": file is open read-only");
}

// ---------------------------------------------------------------------------------------------
// Datasets

namespace detail {


H5Kind classify(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  if (cls == H5T_INTEGER) {
    const size_t size = H5Tget_size(type);
    const H5T_sign_t sign = H5Tget_sign(type);
    if (size == 4 && sign == H5T_SGN_2) return H5Kind::Int32;
    if (size == 1 && sign == H5T_SGN_NONE) return H5Kind::UInt8;
    if (size == 1 && sign == H5T_SGN_2) return H5Kind::Int8;
    if (size == 8 && sign == H5T_SGN_2) return H5Kind::Int64;
    if (size == 2 && sign == H5T_SGN_NONE) return H5Kind::UInt16;
    return H5Kind::Other;
  }
  if (cls == H5T_FLOAT) {
    const size_t size = H5Tget_size(type);
    if (size == 4) return H5Kind::Float32;
    if (size == 8) return H5Kind::Float64;
    return H5Kind::Other;
  }
  if (cls == H5T_ENUM && H5Tget_size(type) == 1 && H5Tget_nmembers(type) == 2) {
    char* n0 = H5Tget_member_name(type, 0);
    char* n1 = H5Tget_member_name(type, 1);
    const bool is_bool = n0 && n1 && std::string(n0) == "FALSE" && std::string(n1) == "TRUE";
    H5free_memory(n0);
    H5free_memory(n1);
    return is_bool ? H5Kind::Bool : H5Kind::Other;
  }
  if (cls == H5T_STRING && H5Tis_variable_str(type) > 0) return H5Kind::String;
  return H5Kind::Other;
}

OpenDataset open_dataset(hid_t file, const std::string& path, const std::string& name) {
  quiet();
  const std::string what = "dataset '" + ds_name(name) + "'";
  OpenDataset d;
  if (H5Lexists(file, ds_name(name).c_str(), H5P_DEFAULT) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    fail("HDF5 file ", path, ": ", what, ": no such dataset");
  }
  d.ds = Handle(checked(H5Dopen2(file, ds_name(name).c_str(), H5P_DEFAULT), path, what + ": open"), H5Dclose);
  d.space = Handle(checked(H5Dget_space(d.ds.get()), path, what + ": dataspace"), H5Sclose);
  d.type = Handle(checked(H5Dget_type(d.ds.get()), path, what + ": type"), H5Tclose);
  const int rank = H5Sget_simple_extent_ndims(d.space.get());
  if (rank < 0) fail("HDF5 file ", path, ": ", what, ": dataspace: ", take_error());
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(d.space.get(), dims.data(), nullptr);
  d.info.shape.assign(dims.begin(), dims.end());
  d.info.kind = classify(d.type.get());
  return d;
}

void require_kind(const OpenDataset& d, std::initializer_list<H5Kind> kinds, const std::string& path,
                  const std::string& name) {
  for (H5Kind k : kinds) {
    if (d.info.kind == k) return;
  }
  fail("HDF5 file ", path, ": dataset '", ds_name(name), "' holds ", to_string(d.info.kind), ", expected ",
       to_string(*kinds.begin()));
}

// The file dataspace with rows first, first + stride, ..., (count rows) selected, and a matching
// memory dataspace of count dense rows.
std::pair<Handle, Handle> row_selection(const OpenDataset& d, int64_t first, int64_t count, const std::string& path,
                                        const std::string& name, int64_t stride) {
  const std::string what = "dataset '" + ds_name(name) + "'";
  ELM_CHECK(!d.info.shape.empty(), "HDF5 file ", path, ": ", what, ": is a scalar, has no rows");
  const int64_t rows = d.info.shape[0];
  ELM_CHECK(stride >= 1, "HDF5 file ", path, ": ", what, ": row stride ", stride, " must be >= 1");
  const int64_t last = count > 0 ? first + (count - 1) * stride : first;  // the last row selected
  if (!(first >= 0 && count >= 0 && first <= rows && (count == 0 || last < rows))) {
    if (stride == 1) fail("HDF5 file ", path, ": ", what, ": rows [", first, ", ", first + count, ") are outside [0, ", rows, ")");
    fail("HDF5 file ", path, ": ", what, ": rows ", first, " + k * ", stride, " for k < ", count, " are outside [0, ",
         rows, ")");
  }
  Handle file_space(checked(H5Scopy(d.space.get()), path, what), H5Sclose);
  std::vector<hsize_t> start(d.info.shape.size(), 0), cnt(d.info.shape.begin(), d.info.shape.end());
  std::vector<hsize_t> step(d.info.shape.size(), 1);
  start[0] = static_cast<hsize_t>(first);
  cnt[0] = static_cast<hsize_t>(count);
  step[0] = static_cast<hsize_t>(stride);
  if (count > 0) {
    checked_status(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), step.data(), cnt.data(), nullptr),
                   path, what + ": select rows");
  } else {
    checked_status(H5Sselect_none(file_space.get()), path, what + ": select rows");
  }
  std::vector<int64_t> mem_shape(cnt.begin(), cnt.end());
  Handle mem_space = simple_space(mem_shape, path, what + ": memory space");
  if (count == 0) checked_status(H5Sselect_none(mem_space.get()), path, what);
  return {std::move(file_space), std::move(mem_space)};
}

void create_numeric(hid_t file, const std::string& path, const std::string& name, const std::vector<int64_t>& shape,
                    hid_t file_type, hid_t mem_type, const void* data) {
  const std::string what = "dataset '" + ds_name(name) + "'";
  ELM_CHECK(shape.size() == 1 || shape.size() == 2, "HDF5 file ", path, ": ", what, ": rank ", shape.size(),
            " is not supported (1 or 2)");
  for (int64_t d : shape) ELM_CHECK(d >= 0, "HDF5 file ", path, ": ", what, ": negative dimension ", d);
  quiet();
  Handle space = simple_space(shape, path, what + ": dataspace");
  Handle ds(checked(H5Dcreate2(file, ds_name(name).c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                               H5P_DEFAULT),
                    path, what + ": create"),
            H5Dclose);
  if (product(shape) > 0) {
    checked_status(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path, what + ": write");
  }
}

}  // namespace detail

bool H5File::has_dataset(const std::string& name) const {
  ELM_CHECK(id_ >= 0, "HDF5 file ", path_, ": file is closed");
  quiet();
  const htri_t r = H5Lexists(id_, ds_name(name).c_str(), H5P_DEFAULT);
  H5Eclear2(H5E_DEFAULT);
  if (r <= 0) return false;
  H5O_info_t info;
  if (H5Oget_info_by_name(id_, ds_name(name).c_str(), &info, H5P_DEFAULT) < 0) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  return info.type == H5O_TYPE_DATASET;
}

H5DatasetInfo H5File::dataset_info(const std::string& name) const {
  ELM_CHECK(id_ >= 0, "HDF5 file ", path_, ": file is closed");
  return open_dataset(id_, path_, name).info;
}

void H5File::create_int32(const std::string& name, const std::vector<int64_t>& shape, const int32_t* data) {
  check_writable("create dataset '" + ds_name(name) + "'");
  create_numeric(id_, path_, name, shape, H5T_STD_I32LE, H5T_NATIVE_INT32, data);
}

void H5File::create_uint8(const std::string& name, const std::vector<int64_t>& shape, const uint8_t* data) {
  check_writable("create dataset '" + ds_name(name) + "'");
  create_numeric(id_, path_, name, shape, H5T_STD_U8LE, H5T_NATIVE_UINT8, data);
}

void H5File::create_bool(const std::string& name, const std::vector<int64_t>& shape, const uint8_t* data) {
  check_writable("create dataset '" + ds_name(name) + "'");
  std::vector<int8_t> norm(static_cast<size_t>(product(shape)));
  for (size_t i = 0; i < norm.size(); ++i) norm[i] = data[i] ? 1 : 0;
  Handle t = bool_type(path_);
  create_numeric(id_, path_, name, shape, t.get(), t.get(), norm.data());
}

void H5File::create_strings(const std::string& name, const std::vector<std::string>& values) {
  const std::string what = "dataset '" + ds_name(name) + "'";
  check_writable("create " + what);
  quiet();
  Handle t = utf8_string_type(path_);
  Handle space = simple_space({static_cast<int64_t>(values.size())}, path_, what + ": dataspace");
  Handle ds(checked(H5Dcreate2(id_, ds_name(name).c_str(), t.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                    path_, what + ": create"),
            H5Dclose);
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    ELM_CHECK(values[i].find('\0') == std::string::npos, "HDF5 file ", path_, ": ", what, ": string ", i,
              " contains a NUL byte");
    ptrs.push_back(values[i].c_str());
  }
  if (!values.empty()) {
    checked_status(H5Dwrite(ds.get(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), path_, what + ": write");
  }
}

std::vector<int32_t> H5File::read_int32(const std::string& name) const {
  const auto info = dataset_info(name);
  std::vector<int32_t> out(static_cast<size_t>(product(info.shape)));
  read_int32_rows(name, 0, info.rows(), out.data());
  return out;
}

std::vector<uint8_t> H5File::read_uint8(const std::string& name) const {
  const auto info = dataset_info(name);
  std::vector<uint8_t> out(static_cast<size_t>(product(info.shape)));
  read_uint8_rows(name, 0, info.rows(), out.data());
  return out;
}

std::vector<std::string> H5File::read_strings(const std::string& name) const {
  const auto info = dataset_info(name);
  return read_string_rows(name, 0, info.rows());
}

void H5File::read_int32_rows(const std::string& name, int64_t first, int64_t count, int32_t* out,
                             int64_t stride) const {
  ELM_CHECK(id_ >= 0, "HDF5 file ", path_, ": file is closed");
  OpenDataset d = open_dataset(id_, path_, name);
  require_kind(d, {H5Kind::Int32}, path_, name);
  auto [fs, ms] = row_selection(d, first, count, path_, name, stride);
  if (count == 0) return;
  checked_status(H5Dread(d.ds.get(), H5T_NATIVE_INT32, ms.get(), fs.get(), H5P_DEFAULT, out), path_,
                 "dataset '" + ds_name(name) + "': read rows");
}

void H5File::write_int32_rows(const std::string& name, int64_t first, int64_t count, const int32_t* data) {
  check_writable("write dataset '" + ds_name(name) + "'");
  OpenDataset d = open_dataset(id_, path_, name);
  require_kind(d, {H5Kind::Int32}, path_, name);
  auto [fs, ms] = row_selection(d, first, count, path_, name);
  if (count == 0) return;
  checked_status(H5Dwrite(d.ds.get(), H5T_NATIVE_INT32, ms.get(), fs.get(), H5P_DEFAULT, data), path_,
                 "dataset '" + ds_name(name) + "': write rows");
}

void H5File::read_uint8_rows(const std::string& name, int64_t first, int64_t count, uint8_t* out,
                             int64_t stride) const {
  ELM_CHECK(id_ >= 0, "HDF5 file ", path_, ": file is closed");
  OpenDataset d = open_dataset(id_, path_, name);
  require_kind(d, {H5Kind::UInt8, H5Kind::Bool}, path_, name);
  auto [fs, ms] = row_selection(d, first, count, path_, name, stride);
  if (count == 0) return;
  if (d.info.kind == H5Kind::Bool) {
    Handle t = bool_type(path_);
    std::vector<int8_t> tmp(static_cast<size_t>(count * d.info.row_size()));
    checked_status(H5Dread(d.ds.get(), t.get(), ms.get(), fs.get(), H5P_DEFAULT, tmp.data()), path_,
                   "dataset '" + ds_name(name) + "': read rows");
    for (size_t i = 0; i < tmp.size(); ++i) out[i] = tmp[i] ? 1 : 0;
    return;
  }
  checked_status(H5Dread(d.ds.get(), H5T_NATIVE_UINT8, ms.get(), fs.get(), H5P_DEFAULT, out), path_,
                 "dataset '" + ds_name(name) + "': read rows");
}

void H5File::write_uint8_rows(const std::string& name, int64_t first, int64_t count, const uint8_t* data) {
  check_writable("write dataset '" + ds_name(name) + "'");
  OpenDataset d = open_dataset(id_, path_, name);
  require_kind(d, {H5Kind::UInt8, H5Kind::Bool}, path_, name);
  auto [fs, ms] = row_selection(d, first, count, path_, name);
  if (count == 0) return;
  if (d.info.kind == H5Kind::Bool) {
    Handle t = bool_type(path_);
    std::vector<int8_t> tmp(static_cast<size_t>(count * d.info.row_size()));
    for (size_t i = 0; i < tmp.size(); ++i) tmp[i] = data[i] ? 1 : 0;
    checked_status(H5Dwrite(d.ds.get(), t.get(), ms.get(), fs.get(), H5P_DEFAULT, tmp.data()), path_,
                   "dataset '" + ds_name(name) + "': write rows");
    return;
  }
  checked_status(H5Dwrite(d.ds.get(), H5T_NATIVE_UINT8, ms.get(), fs.get(), H5P_DEFAULT, data), path_,
                 "dataset '" + ds_name(name) + "': write rows");
}

std::vector<std::string> H5File::read_string_rows(const std::string& name, int64_t first, int64_t count) const {
  ELM_CHECK(id_ >= 0, "HDF5 file ", path_, ": file is closed");
  const std::string what = "dataset '" + ds_name(name) + "'";
  OpenDataset d = open_dataset(id_, path_, name);
  require_kind(d, {H5Kind::String}, path_, name);
  ELM_CHECK(d.info.shape.size() == 1, "HDF5 file ", path_, ": ", what, ": string datasets must have rank 1");
  auto [fs, ms] = row_selection(d, first, count, path_, name);
  std::vector<std::string> out;
  if (count == 0) return out;
  Handle t = utf8_string_type(path_);
  std::vector<char*> ptrs(static_cast<size_t>(count), nullptr);
  checked_status(H5Dread(d.ds.get(), t.get(), ms.get(), fs.get(), H5P_DEFAULT, ptrs.data()), path_,
                 what + ": read rows");
  out.reserve(ptrs.size());
  for (char* p : ptrs) out.emplace_back(p ? p : "");
  H5Dvlen_reclaim(t.get(), ms.get(), H5P_DEFAULT, ptrs.data());
  return out;
}

void H5File::write_string_rows(const std::string& name, int64_t first, const std::vector<std::string>& values) {
  const std::string what = "dataset '" + ds_name(name) + "'";
  check_writable("write " + what);
  OpenDataset d = open_dataset(id_, path_, name);
  require_kind(d, {H5Kind::String}, path_, name);
  const int64_t count = static_cast<int64_t>(values.size());
  auto [fs, ms] = row_selection(d, first, count, path_, name);
  if (count == 0) return;
  std::vector<const char*> ptrs;
  for (size_t i = 0; i < values.size(); ++i) {
    ELM_CHECK(values[i].find('\0') == std::string::npos, "HDF5 file ", path_, ": ", what, ": string ", first + i,
              " contains a NUL byte");
    ptrs.push_back(values[i].c_str());
  }
  Handle t = utf8_string_type(path_);
  checked_status(H5Dwrite(d.ds.get(), t.get(), ms.get(), fs.get(), H5P_DEFAULT, ptrs.data()), path_,
                 what + ": write rows");
}

// ---------------------------------------------------------------------------------------------
// Checkpoint-style datasets (any rank, any numeric kind) and groups

namespace detail {

// The little-endian file type and the native memory type of a numeric kind. The returned ids are
// library constants (not to be closed); Bool is handled by the callers (an enum they create).
std::pair<hid_t, hid_t> numeric_types(H5Kind kind) {
  switch (kind) {
    case H5Kind::Int8: return {H5T_STD_I8LE, H5T_NATIVE_INT8};
    case H5Kind::UInt8: return {H5T_STD_U8LE, H5T_NATIVE_UINT8};
    case H5Kind::UInt16: return {H5T_STD_U16LE, H5T_NATIVE_UINT16};
    case H5Kind::Int32: return {H5T_STD_I32LE, H5T_NATIVE_INT32};
    case H5Kind::Int64: return {H5T_STD_I64LE, H5T_NATIVE_INT64};
    case H5Kind::Float32: return {H5T_IEEE_F32LE, H5T_NATIVE_FLOAT};
    case H5Kind::Float64: return {H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE};
    default: break;
  }
  return {-1, -1};
}

// A dataspace of any rank; rank 0 is HDF5's scalar dataspace (what h5py writes for a 0-d array).
Handle any_space(const std::vector<int64_t>& shape, const std::string& path, const std::string& what) {
  if (shape.empty()) return Handle(checked(H5Screate(H5S_SCALAR), path, what), H5Sclose);
  return simple_space(shape, path, what);
}

bool object_is(hid_t file, const std::string& name, H5O_type_t type) {
  quiet();
  const std::string n = ds_name(name);
  if (n != "/") {
    // H5Lexists fails (rather than returning false) when an intermediate group is missing; walk
    // the path one component at a time so "a/b/c" with no "a" is simply absent.
    size_t pos = 1;
    while (true) {
      const size_t slash = n.find('/', pos);
      const std::string prefix = n.substr(0, slash);
      const htri_t r = H5Lexists(file, prefix.c_str(), H5P_DEFAULT);
      if (r <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return false;
      }
      if (slash == std::string::npos) break;
      pos = slash + 1;
    }
  }
  H5O_info_t info;
  if (H5Oget_info_by_name(file, n.c_str(), &info, H5P_DEFAULT) < 0) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  return info.type == type;
}

}  // namespace detail

void H5File::create_dataset(const std::string& name, H5Kind kind, const std::vector<int64_t>& shape,
                            const void* data) {
  const std::string what = "dataset '" + ds_name(name) + "'";
  check_writable("create " + what);
  ELM_CHECK(element_size(kind) > 0, "HDF5 file ", path_, ": ", what, ": ", to_string(kind),
            " is not a numeric kind");
  for (int64_t d : shape) ELM_CHECK(d >= 0, "HDF5 file ", path_, ": ", what, ": negative dimension ", d);
  const int64_t n = product(shape);
  ELM_CHECK(n == 0 || data != nullptr, "HDF5 file ", path_, ": ", what, ": no data");
  quiet();
  Handle bool_t;
  std::vector<int8_t> norm;
  hid_t file_type, mem_type;
  if (kind == H5Kind::Bool) {
    bool_t = bool_type(path_);
    file_type = mem_type = bool_t.get();
    const auto* p = static_cast<const uint8_t*>(data);
    norm.resize(static_cast<size_t>(n));
    for (size_t i = 0; i < norm.size(); ++i) norm[i] = p[i] ? 1 : 0;
    data = norm.data();
  } else {
    std::tie(file_type, mem_type) = numeric_types(kind);
  }
  Handle space = any_space(shape, path_, what + ": dataspace");
  Handle ds(checked(H5Dcreate2(id_, ds_name(name).c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                               H5P_DEFAULT),
                    path_, what + ": create"),
            H5Dclose);
  if (n > 0) {
    checked_status(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path_, what + ": write");
  }
}

void H5File::read_dataset(const std::string& name, H5Kind kind, void* out) const {
  ELM_CHECK(id_ >= 0, "HDF5 file ", path_, ": file is closed");
  const std::string what = "dataset '" + ds_name(name) + "'";
  ELM_CHECK(element_size(kind) > 0, "HDF5 file ", path_, ": ", what, ": ", to_string(kind),
            " is not a numeric kind");
  OpenDataset d = open_dataset(id_, path_, name);
  require_kind(d, {kind}, path_, name);
  const int64_t n = product(d.info.shape);
  if (n == 0) return;
  if (kind == H5Kind::Bool) {
    Handle t = bool_type(path_);
    std::vector<int8_t> tmp(static_cast<size_t>(n));
    checked_status(H5Dread(d.ds.get(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp.data()), path_, what + ": read");
    auto* o = static_cast<uint8_t*>(out);
    for (size_t i = 0; i < tmp.size(); ++i) o[i] = tmp[i] ? 1 : 0;
    return;
  }
  checked_status(H5Dread(d.ds.get(), numeric_types(kind).second, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), path_,
                 what + ": read");
}

void H5File::create_string(const std::string& name, const std::string& value) {
  const std::string what = "dataset '" + ds_name(name) + "'";
  check_writable("create " + what);
  ELM_CHECK(value.find('\0') == std::string::npos, "HDF5 file ", path_, ": ", what, ": value contains a NUL byte");
  quiet();
  Handle t = utf8_string_type(path_);
  Handle space(checked(H5Screate(H5S_SCALAR), path_, what + ": dataspace"), H5Sclose);
  Handle ds(checked(H5Dcreate2(id_, ds_name(name).c_str(), t.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                    path_, what + ": create"),
            H5Dclose);
  const char* p = value.c_str();
  checked_status(H5Dwrite(ds.get(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), path_, what + ": write");
}

std::string H5File::read_string(const std::string& name) const {
  ELM_CHECK(id_ >= 0, "HDF5 file ", path_, ": file is closed");
  const std::string what = "dataset '" + ds_name(name) + "'";
  OpenDataset d = open_dataset(id_, path_, name);
  ELM_CHECK(d.info.shape.empty() || (d.info.shape.size() == 1 && d.info.shape[0] == 1), "HDF5 file ", path_, ": ",
            what, ": expected one string");
  if (H5Tget_class(d.type.get()) == H5T_STRING && H5Tis_variable_str(d.type.get()) <= 0) {
    // Fixed-length (create_text, which collective writers use): NUL-padded to the type's size.
    std::string buf(H5Tget_size(d.type.get()), '\0');
    checked_status(H5Dread(d.ds.get(), d.type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), path_, what + ": read");
    const auto nul = buf.find('\0');
    if (nul != std::string::npos) buf.resize(nul);
    return buf;
  }
  require_kind(d, {H5Kind::String}, path_, name);
  Handle t = utf8_string_type(path_);
  char* p = nullptr;
  checked_status(H5Dread(d.ds.get(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), path_, what + ": read");
  std::string out = p ? p : "";
  H5Dvlen_reclaim(t.get(), d.space.get(), H5P_DEFAULT, &p);
  return out;
}

void H5File::create_group(const std::string& name) {
  const std::string what = "group '" + ds_name(name) + "'";
  check_writable("create " + what);
  quiet();
  // Tracking creation order lets list_group return members in the order they were written (a
  // checkpoint keeps the parameter order of the model that way).
  Handle gcpl(checked(H5Pcreate(H5P_GROUP_CREATE), path_, what + ": properties"), H5Pclose);
  checked_status(H5Pset_link_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), path_,
                 what + ": properties");
  Handle g(checked(H5Gcreate2(id_, ds_name(name).c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), path_,
                   what + ": create"),
           H5Gclose);
}

bool H5File::has_group(const std::string& name) const {
  ELM_CHECK(id_ >= 0, "HDF5 file ", path_, ": file is closed");
  return object_is(id_, name, H5O_TYPE_GROUP);
}

std::vector<std::string> H5File::list_group(const std::string& name) const {
  ELM_CHECK(id_ >= 0, "HDF5 file ", path_, ": file is closed");
  const std::string what = "group '" + ds_name(name) + "'";
  ELM_CHECK(has_group(name), "HDF5 file ", path_, ": ", what, ": no such group");
  quiet();
  Handle g(checked(H5Gopen2(id_, ds_name(name).c_str(), H5P_DEFAULT), path_, what + ": open"), H5Gclose);
  Handle gcpl(checked(H5Gget_create_plist(g.get()), path_, what + ": properties"), H5Pclose);
  unsigned order_flags = 0;
  checked_status(H5Pget_link_creation_order(gcpl.get(), &order_flags), path_, what + ": properties");
  const H5_index_t index = (order_flags & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
  H5G_info_t info;
  checked_status(H5Gget_info(g.get(), &info), path_, what + ": info");
  std::vector<std::string> names;
  names.reserve(info.nlinks);
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t n = H5Lget_name_by_idx(g.get(), ".", index, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (n < 0) fail("HDF5 file ", path_, ": ", what, ": member ", i, ": ", take_error());
    std::string member(static_cast<size_t>(n) + 1, '\0');
    H5Lget_name_by_idx(g.get(), ".", index, H5_ITER_INC, i, member.data(), member.size(), H5P_DEFAULT);
    member.resize(static_cast<size_t>(n));
    names.push_back(member);
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// Attributes

namespace {

std::string attr_what(const std::string& attr, const std::string& object) {
  return "attribute '" + attr + "' of '" + object + "'";
}

Handle open_attribute(hid_t file, const std::string& path, const std::string& attr, const std::string& object) {
  quiet();
  const htri_t exists = H5Aexists_by_name(file, object.c_str(), attr.c_str(), H5P_DEFAULT);
  if (exists < 0) fail("HDF5 file ", path, ": ", attr_what(attr, object), ": ", take_error());
  if (exists == 0) fail("HDF5 file ", path, ": ", attr_what(attr, object), ": no such attribute");
  return Handle(checked(H5Aopen_by_name(file, object.c_str(), attr.c_str(), H5P_DEFAULT, H5P_DEFAULT), path,
                        attr_what(attr, object) + ": open"),
                H5Aclose);
}

void write_attribute(hid_t file, const std::string& path, const std::string& attr, const std::string& object,
                     hid_t file_type, hid_t mem_type, const void* data) {
  quiet();
  const std::string what = attr_what(attr, object);
  const htri_t exists = H5Aexists_by_name(file, object.c_str(), attr.c_str(), H5P_DEFAULT);
  if (exists < 0) fail("HDF5 file ", path, ": ", what, ": ", take_error());
  if (exists > 0) checked_status(H5Adelete_by_name(file, object.c_str(), attr.c_str(), H5P_DEFAULT), path, what + ": replace");
  Handle space(checked(H5Screate(H5S_SCALAR), path, what), H5Sclose);
  Handle a(checked(H5Acreate_by_name(file, object.c_str(), attr.c_str(), file_type, space.get(), H5P_DEFAULT,
                                     H5P_DEFAULT, H5P_DEFAULT),
                   path, what + ": create"),
           H5Aclose);
  checked_status(H5Awrite(a.get(), mem_type, data), path, what + ": write");
}

}  // namespace

bool H5File::has_attribute(const std::string& attr, const std::string& object) const {
  ELM_CHECK(id_ >= 0, "HDF5 file ", path_, ": file is closed");
  quiet();
  const htri_t r = H5Aexists_by_name(id_, object.c_str(), attr.c_str(), H5P_DEFAULT);
  if (r < 0) fail("HDF5 file ", path_, ": ", attr_what(attr, object), ": ", take_error());
  return r > 0;
}

std::vector<std::string> H5File::attribute_names(const std::string& object) const {
  ELM_CHECK(id_ >= 0, "HDF5 file ", path_, ": file is closed");
  quiet();
  H5O_info_t info;
  checked_status(H5Oget_info_by_name(id_, object.c_str(), &info, H5P_DEFAULT), path_, "object '" + object + "'");
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    std::string name;  // in name order (creation order is not tracked by default)
    const ssize_t n = H5Aget_name_by_idx(id_, object.c_str(), H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (n < 0) fail("HDF5 file ", path_, ": attributes of '", object, "': ", take_error());
    name.resize(static_cast<size_t>(n) + 1);
    H5Aget_name_by_idx(id_, object.c_str(), H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
    name.resize(static_cast<size_t>(n));
    names.push_back(name);
  }
  return names;
}

void H5File::set_attribute(const std::string& attr, const std::string& value, const std::string& object) {
  check_writable("write " + attr_what(attr, object));
  ELM_CHECK(value.find('\0') == std::string::npos, "HDF5 file ", path_, ": ", attr_what(attr, object),
            ": value contains a NUL byte");
  Handle t = utf8_string_type(path_);
  const char* p = value.c_str();
  write_attribute(id_, path_, attr, object, t.get(), t.get(), &p);
}

void H5File::set_attribute(const std::string& attr, int64_t value, const std::string& object) {
  check_writable("write " + attr_what(attr, object));
  write_attribute(id_, path_, attr, object, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

void H5File::set_attribute_double(const std::string& attr, double value, const std::string& object) {
  check_writable("write " + attr_what(attr, object));
  write_attribute(id_, path_, attr, object, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

std::string H5File::attribute_string(const std::string& attr, const std::string& object) const {
  ELM_CHECK(id_ >= 0, "HDF5 file ", path_, ": file is closed");
  const std::string what = attr_what(attr, object);
  Handle a = open_attribute(id_, path_, attr, object);
  Handle ftype(checked(H5Aget_type(a.get()), path_, what + ": type"), H5Tclose);
  ELM_CHECK(H5Tget_class(ftype.get()) == H5T_STRING, "HDF5 file ", path_, ": ", what, " is not a string");
  Handle space(checked(H5Aget_space(a.get()), path_, what + ": dataspace"), H5Sclose);
  ELM_CHECK(H5Sget_simple_extent_npoints(space.get()) == 1, "HDF5 file ", path_, ": ", what, " is not a scalar");
  if (H5Tis_variable_str(ftype.get()) > 0) {
    Handle t = utf8_string_type(path_);
    char* p = nullptr;
    checked_status(H5Aread(a.get(), t.get(), &p), path_, what + ": read");
    std::string out = p ? p : "";
    H5Dvlen_reclaim(t.get(), space.get(), H5P_DEFAULT, &p);
    return out;
  }
  // Fixed-length string (e.g. written by h5py with np.bytes_ or by h5 tools).
  const size_t size = H5Tget_size(ftype.get());
  std::string buf(size, '\0');
  Handle t(checked(H5Tcopy(ftype.get()), path_, what), H5Tclose);
  checked_status(H5Aread(a.get(), t.get(), buf.data()), path_, what + ": read");
  const auto nul = buf.find('\0');
  if (nul != std::string::npos) buf.resize(nul);
  while (!buf.empty() && buf.back() == ' ') buf.pop_back();
  return buf;
}

int64_t H5File::attribute_int(const std::string& attr, const std::string& object) const {
  ELM_CHECK(id_ >= 0, "HDF5 file ", path_, ": file is closed");
  const std::string what = attr_what(attr, object);
  Handle a = open_attribute(id_, path_, attr, object);
  Handle ftype(checked(H5Aget_type(a.get()), path_, what + ": type"), H5Tclose);
  ELM_CHECK(H5Tget_class(ftype.get()) == H5T_INTEGER, "HDF5 file ", path_, ": ", what, " is not an integer");
  Handle space(checked(H5Aget_space(a.get()), path_, what + ": dataspace"), H5Sclose);
  ELM_CHECK(H5Sget_simple_extent_npoints(space.get()) == 1, "HDF5 file ", path_, ": ", what, " is not a scalar");
  int64_t v = 0;
  checked_status(H5Aread(a.get(), H5T_NATIVE_INT64, &v), path_, what + ": read");
  return v;
}

double H5File::attribute_double(const std::string& attr, const std::string& object) const {
  ELM_CHECK(id_ >= 0, "HDF5 file ", path_, ": file is closed");
  const std::string what = attr_what(attr, object);
  Handle a = open_attribute(id_, path_, attr, object);
  Handle ftype(checked(H5Aget_type(a.get()), path_, what + ": type"), H5Tclose);
  const H5T_class_t cls = H5Tget_class(ftype.get());
  ELM_CHECK(cls == H5T_FLOAT || cls == H5T_INTEGER, "HDF5 file ", path_, ": ", what, " is not a number");
  Handle space(checked(H5Aget_space(a.get()), path_, what + ": dataspace"), H5Sclose);
  ELM_CHECK(H5Sget_simple_extent_npoints(space.get()) == 1, "HDF5 file ", path_, ": ", what, " is not a scalar");
  double v = 0;
  checked_status(H5Aread(a.get(), H5T_NATIVE_DOUBLE, &v), path_, what + ": read");
  return v;
}

}  // namespace elm::io
