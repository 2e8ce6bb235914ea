#pragma once
// Small RAII wrapper over the HDF5 C API for the files ExplicitLM writes (bank files and
// checkpoints): int32 / uint8 / bool datasets of rank 1 or 2, variable-length UTF-8 string
// datasets of rank 1, scalar string and integer attributes, and reads/writes of whole datasets or
// of a hyperslab of rows (a contiguous range along dimension 0). For checkpoints also: numeric
// datasets of any rank (0 = a scalar dataset) and element kind (create_dataset / read_dataset),
// scalar string datasets, float attributes, groups, and listing the members of a group.
//
// Every HDF5 failure throws elm::Error naming the file and the dataset or attribute involved,
// with HDF5's own error stack appended; HDF5's automatic printing to stderr is switched off.
// Access is plain POSIX (sec2), except for files made by create_collective: those are written
// through MPI-IO by every rank of a communicator together (hdf5_collective.cpp), each rank writing
// its own rows with collective transfers and collective metadata.
// No torch here: callers move data in and out through raw buffers or std::vector.
#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace elm::io {

// Element type of a dataset as seen by this wrapper.
// Stored little-endian; Bool is h5py's enum {FALSE = 0, TRUE = 1} over int8.
enum class H5Kind { Int32, UInt8, Bool, String, Other, Int8, Int64, UInt16, Float32, Float64 };
const char* to_string(H5Kind kind);
// Bytes per element of a numeric kind (1 for Bool); 0 for String and Other.
size_t element_size(H5Kind kind);

struct H5DatasetInfo {
  H5Kind kind = H5Kind::Other;
  std::vector<int64_t> shape;  // {} for a scalar
  int64_t rows() const { return shape.empty() ? 1 : shape[0]; }
  int64_t row_size() const;    // product of shape[1:]; 1 for rank <= 1
};

// How the raw-data writes of a collective file actually went: HDF5 may quietly turn a collective
// transfer into independent ones (H5Pget_mpio_actual_io_mode); every such fallback is counted and
// its cause kept, e.g. "/bank/tokens: datatype conversions".
struct CollectiveIoStats {
  int64_t collective_writes = 0;   // H5Dwrite calls done collectively
  int64_t independent_writes = 0;  // collective requests HDF5 did independently
  int64_t serial_writes = 0;       // writes to a serial (non-MPI) file
  std::vector<std::string> fallbacks;
};

class H5File {
 public:
  // Creates (truncating an existing file) for writing.
  static H5File create(const std::string& path);
  static H5File open_read(const std::string& path);
  static H5File open_write(const std::string& path);

  // Creates (truncating) a file that every rank of `comm` writes together through MPI-IO
  // (H5Pset_fapl_mpio with collective metadata operations and writes). Collective: every rank
  // calls it, and then calls every create_*, write_rows, set_attribute, flush and close in the same
  // order with the same names, shapes and attribute values. MPI_COMM_NULL gives a serial file
  // (same calls, one process), so one writer serves both.
  static H5File create_collective(const std::string& path, MPI_Comm comm);

  H5File(H5File&& other) noexcept;
  H5File& operator=(H5File&& other) noexcept;
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;
  ~H5File();  // closes quietly; call close() to see close errors

  const std::string& path() const { return path_; }
  bool is_open() const { return id_ >= 0; }
  bool writable() const { return writable_; }
  void flush();
  void close();

  // ---- datasets (names are paths from the root, e.g. "tokens" or "/tokens") ----
  bool has_dataset(const std::string& name) const;
  H5DatasetInfo dataset_info(const std::string& name) const;  // error if absent

  // Creates a dataset of `shape` (rank 1 or 2) holding `data` (product(shape) elements, row-major).
  void create_int32(const std::string& name, const std::vector<int64_t>& shape, const int32_t* data);
  void create_uint8(const std::string& name, const std::vector<int64_t>& shape, const uint8_t* data);
  // A boolean dataset, stored as h5py does: an 8-bit enum {FALSE = 0, TRUE = 1}. Non-zero -> TRUE.
  void create_bool(const std::string& name, const std::vector<int64_t>& shape, const uint8_t* data);
  // Variable-length UTF-8 strings, rank 1. Strings must not contain NUL bytes.
  void create_strings(const std::string& name, const std::vector<std::string>& values);

  // Whole datasets. read_uint8 also reads Bool datasets (as 0/1).
  std::vector<int32_t> read_int32(const std::string& name) const;
  std::vector<uint8_t> read_uint8(const std::string& name) const;
  std::vector<std::string> read_strings(const std::string& name) const;

  // ---- checkpoint-style datasets: any rank, any numeric kind ----
  // A dataset of `kind` (not String / Other) and `shape` ({} = a scalar dataset, rank 0) holding
  // product(shape) elements of `data` in row-major order, in the kind's native layout (Bool: one
  // byte per element, non-zero -> TRUE). Parent groups must exist (create_group).
  void create_dataset(const std::string& name, H5Kind kind, const std::vector<int64_t>& shape, const void* data);
  // Reads a whole dataset into `out` (product(shape) elements). `kind` must be the stored kind:
  // conversions are refused so that what comes back is bit-identical to what was written.
  void read_dataset(const std::string& name, H5Kind kind, void* out) const;
  // A scalar (rank 0) variable-length UTF-8 string dataset; read_string also reads a rank-1
  // string dataset of one element. Strings must not contain NUL bytes.
  void create_string(const std::string& name, const std::string& value);
  std::string read_string(const std::string& name) const;

  // ---- writes of a collective file (also work on a serial one) ----
  // Creates a numeric dataset (any rank, kind not String/Other) without writing data: storage is
  // allocated at once and never filled, so the rows written next are its only write pass.
  void create_empty(const std::string& name, H5Kind kind, const std::vector<int64_t>& shape);
  // Writes rows first, first + stride, ..., (count of them, dense in `data`) of a dataset made by
  // create_empty; a scalar dataset has one row. Collective on a collective file: every rank calls
  // it, a rank with nothing to write passes count 0. The actual transfer mode is checked.
  void write_rows(const std::string& name, H5Kind kind, int64_t first, int64_t count, int64_t stride,
                  const void* data);
  // A scalar fixed-length UTF-8 string dataset (parallel HDF5 cannot write variable-length data).
  // Every rank passes the same value; one rank writes it. read_string reads it.
  void create_text(const std::string& name, const std::string& value);
  const CollectiveIoStats& io_stats() const { return stats_; }
  bool collective() const { return collective_; }

  // ---- groups ----
  // Creates a group (parents must exist) that remembers the order its members are created in.
  void create_group(const std::string& name);
  bool has_group(const std::string& name) const;
  // Names of the members (datasets and groups) of a group: in creation order when the group tracks
  // it (create_group does), else in name order. Error naming the group when it is absent.
  std::vector<std::string> list_group(const std::string& name = "/") const;

  // Rows [first, first + count) along dimension 0; buffers hold count * row_size elements.
  // A range outside the dataset is an error naming it. The reads take a row stride: rows first,
  // first + stride, ..., count of them, land densely in `out` (a cyclic bank shard).
  void read_int32_rows(const std::string& name, int64_t first, int64_t count, int32_t* out,
                       int64_t stride = 1) const;
  void write_int32_rows(const std::string& name, int64_t first, int64_t count, const int32_t* data);
  void read_uint8_rows(const std::string& name, int64_t first, int64_t count, uint8_t* out,
                       int64_t stride = 1) const;
  void write_uint8_rows(const std::string& name, int64_t first, int64_t count, const uint8_t* data);
  std::vector<std::string> read_string_rows(const std::string& name, int64_t first, int64_t count) const;
  void write_string_rows(const std::string& name, int64_t first, const std::vector<std::string>& values);

  // ---- scalar attributes of an object (default: the root group "/") ----
  bool has_attribute(const std::string& attr, const std::string& object = "/") const;
  std::vector<std::string> attribute_names(const std::string& object = "/") const;
  // Replaces an existing attribute of the same name.
  void set_attribute(const std::string& attr, const std::string& value, const std::string& object = "/");
  void set_attribute(const std::string& attr, const char* value, const std::string& object = "/") {
    set_attribute(attr, std::string(value), object);
  }
  void set_attribute(const std::string& attr, int64_t value, const std::string& object = "/");
  // A float64 attribute (a separate name: an overload would make set_attribute(a, 1) ambiguous).
  void set_attribute_double(const std::string& attr, double value, const std::string& object = "/");
  std::string attribute_string(const std::string& attr, const std::string& object = "/") const;
  int64_t attribute_int(const std::string& attr, const std::string& object = "/") const;
  double attribute_double(const std::string& attr, const std::string& object = "/") const;

 private:
  H5File(std::string path, int64_t id, bool writable) : path_(std::move(path)), id_(id), writable_(writable) {}
  void check_writable(const std::string& what) const;
  void release();

  std::string path_;
  int64_t id_ = -1;  // hid_t
  bool writable_ = false;
  bool collective_ = false;
  int rank_ = 0;        // in the writing communicator (0 for a serial file)
  int64_t dxpl_ = -1;   // collective transfer properties (hid_t), -1 = H5P_DEFAULT
  CollectiveIoStats stats_;
};

// True when `path` is an HDF5 file (signature check; no exceptions).
bool is_hdf5_file(const std::string& path);

}  // namespace elm::io
