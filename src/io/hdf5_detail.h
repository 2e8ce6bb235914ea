#pragma once
// Internals of the HDF5 wrapper shared by its translation units (hdf5_file.cpp: serial files,
// reads, attributes; hdf5_collective.cpp: MPI-IO files and collective writes). Not a public API:
// only src/io includes it.
#include <hdf5.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "io/hdf5_file.h"

namespace elm::io::detail {

// HDF5 prints its error stack to stderr by default; this turns that off for the calling thread.
void quiet();
// The current HDF5 error stack as one line (outermost and innermost entries); clears it.
std::string take_error();

// One owned HDF5 identifier, closed with the matching H5?close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      closer_ = o.closer_;
      o.id_ = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  void reset() {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = -1;
  }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

// "/name" for "name".
std::string ds_name(const std::string& name);
// id, or an elm::Error "HDF5 file PATH: WHAT: <HDF5's error>" when it is negative.
hid_t checked(hid_t id, const std::string& path, const std::string& what);
void checked_status(herr_t status, const std::string& path, const std::string& what);

Handle utf8_string_type(const std::string& path);
// h5py's boolean: enum of int8 {FALSE = 0, TRUE = 1}.
Handle bool_type(const std::string& path);
Handle simple_space(const std::vector<int64_t>& shape, const std::string& path, const std::string& what);
// A dataspace of any rank; rank 0 is HDF5's scalar dataspace.
Handle any_space(const std::vector<int64_t>& shape, const std::string& path, const std::string& what);
int64_t product(const std::vector<int64_t>& shape);
// The little-endian file type and the native memory type of a numeric kind (library constants, not
// to be closed); {-1, -1} for Bool, String and Other.
std::pair<hid_t, hid_t> numeric_types(H5Kind kind);
H5Kind classify(hid_t type);

struct OpenDataset {
  Handle ds, space, type;
  H5DatasetInfo info;
};
OpenDataset open_dataset(hid_t file, const std::string& path, const std::string& name);
void require_kind(const OpenDataset& d, std::initializer_list<H5Kind> kinds, const std::string& path,
                  const std::string& name);
// The file dataspace with rows first, first + stride, ..., (count rows) selected, and a matching
// memory dataspace of count dense rows (both select nothing when count is 0).
std::pair<Handle, Handle> row_selection(const OpenDataset& d, int64_t first, int64_t count, const std::string& path,
                                        const std::string& name, int64_t stride = 1);
// Whether `name` exists and is an object of `type` (intermediate groups may be missing).
bool object_is(hid_t file, const std::string& name, H5O_type_t type);

}  // namespace elm::io::detail
