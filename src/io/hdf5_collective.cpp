// Files written by every rank of a communicator together through MPI-IO (H5File::create_collective)
// and the writes that work on them: datasets created without data, rows written with collective
// transfers, fixed-length text. The same calls on a serial file (MPI_COMM_NULL) write through sec2,
// so the checkpoint writer has one code path for one process and for many.
#include <hdf5.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <tuple>

#include "core/error.h"
#include "io/hdf5_detail.h"
#include "io/hdf5_file.h"

namespace elm::io {
using namespace detail;

namespace {

// Why HDF5 did a collective request independently (H5Pget_mpio_no_collective_cause bits).
std::string no_collective_causes(uint32_t bits) {
  std::ostringstream out;
  auto add = [&](uint32_t bit, const char* text) {
    if (bits & bit) out << (out.tellp() > 0 ? ", " : "") << text;
  };
#ifdef H5_HAVE_PARALLEL
  add(H5D_MPIO_SET_INDEPENDENT, "independent transfer requested");
  add(H5D_MPIO_DATATYPE_CONVERSION, "datatype conversion");
  add(H5D_MPIO_DATA_TRANSFORMS, "data transforms");
  add(H5D_MPIO_MPI_OPT_TYPES_ENV_VAR_DISABLED, "MPI derived types disabled");
  add(H5D_MPIO_NOT_SIMPLE_OR_SCALAR_DATASPACES, "dataspace not simple or scalar");
  add(H5D_MPIO_NOT_CONTIGUOUS_OR_CHUNKED_DATASET, "layout not contiguous or chunked");
#endif
  if (out.tellp() == 0) out << "cause bits " << bits;
  return out.str();
}

// MPI-IO hints for the file: ELM_MPIIO_HINTS ("key=value,key=value") when set, else
// romio_cb_write=disable. The checkpoint writer hands MPI-IO one large contiguous range per rank
// (it regroups interleaved rows itself), which ROMIO's collective buffering would only copy
// through aggregator ranks again. On Lustre, striping hints (striping_factor, striping_unit)
// belong here too (docs/checkpoints.md).
MPI_Info mpiio_hints() {
  const char* env = std::getenv("ELM_MPIIO_HINTS");
  const std::string hints = env ? env : "romio_cb_write=disable";
  MPI_Info info = MPI_INFO_NULL;
  MPI_Info_create(&info);
  size_t pos = 0;
  while (pos < hints.size()) {
    size_t comma = hints.find(',', pos);
    if (comma == std::string::npos) comma = hints.size();
    const std::string kv = hints.substr(pos, comma - pos);
    const size_t eq = kv.find('=');
    ELM_CHECK(eq != std::string::npos && eq > 0, "ELM_MPIIO_HINTS: '", kv, "' is not key=value (in \"", hints, "\")");
    MPI_Info_set(info, kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str());
    pos = comma + 1;
  }
  return info;
}

}  // namespace

H5File H5File::create_collective(const std::string& path, MPI_Comm comm) {
  if (comm == MPI_COMM_NULL) return create(path);
#ifndef H5_HAVE_PARALLEL
  fail("HDF5 file ", path, ": a collective write needs the parallel HDF5 build (libhdf5-openmpi-dev); this one is serial");
#else
  quiet();
  Handle fapl(checked(H5Pcreate(H5P_FILE_ACCESS), path, "file access properties"), H5Pclose);
  MPI_Info info = mpiio_hints();
  const herr_t set = H5Pset_fapl_mpio(fapl.get(), comm, info);  // HDF5 keeps a copy of the hints
  MPI_Info_free(&info);
  checked_status(set, path, "MPI-IO driver");
  // Metadata reads and writes collective too: one rank reads metadata and broadcasts it, and the
  // metadata cache is flushed collectively, instead of every rank hitting the file system.
  checked_status(H5Pset_all_coll_metadata_ops(fapl.get(), true), path, "collective metadata operations");
  checked_status(H5Pset_coll_metadata_write(fapl.get(), true), path, "collective metadata writes");
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
  if (id < 0) fail("HDF5 file ", path, ": cannot create for a collective write: ", take_error());
  H5File f(path, id, true);
  f.collective_ = true;
  MPI_Comm_rank(comm, &f.rank_);
  f.dxpl_ = H5Pcreate(H5P_DATASET_XFER);
  if (f.dxpl_ < 0 || H5Pset_dxpl_mpio(f.dxpl_, H5FD_MPIO_COLLECTIVE) < 0) {
    fail("HDF5 file ", path, ": collective transfer properties: ", take_error());
  }
  return f;
#endif
}

void H5File::create_empty(const std::string& name, H5Kind kind, const std::vector<int64_t>& shape) {
  const std::string what = "dataset '" + ds_name(name) + "'";
  check_writable("create " + what);
  ELM_CHECK(element_size(kind) > 0, "HDF5 file ", path_, ": ", what, ": ", to_string(kind), " is not a numeric kind");
  for (int64_t d : shape) ELM_CHECK(d >= 0, "HDF5 file ", path_, ": ", what, ": negative dimension ", d);
  quiet();
  Handle bool_t;
  hid_t file_type = numeric_types(kind).first;
  if (kind == H5Kind::Bool) {
    bool_t = bool_type(path_);
    file_type = bool_t.get();
  }
  Handle space = any_space(shape, path_, what + ": dataspace");
  Handle dcpl(checked(H5Pcreate(H5P_DATASET_CREATE), path_, what + ": properties"), H5Pclose);
  // Allocated now (parallel HDF5 needs that for contiguous data) and never filled: the fill pass
  // would write the whole file twice.
  checked_status(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), path_, what + ": allocation time");
  checked_status(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), path_, what + ": fill time");
  Handle ds(checked(H5Dcreate2(id_, ds_name(name).c_str(), file_type, space.get(), H5P_DEFAULT, dcpl.get(),
                               H5P_DEFAULT),
                    path_, what + ": create"),
            H5Dclose);
}

void H5File::write_rows(const std::string& name, H5Kind kind, int64_t first, int64_t count, int64_t stride,
                        const void* data) {
  const std::string what = "dataset '" + ds_name(name) + "'";
  check_writable("write " + what);
  OpenDataset d = open_dataset(id_, path_, name);
  require_kind(d, {kind}, path_, name);
  if (product(d.info.shape) == 0) return;  // the same on every rank: nothing to transfer
  ELM_CHECK(count == 0 || data != nullptr, "HDF5 file ", path_, ": ", what, ": no data");
  quiet();
  Handle file_space, mem_space;
  if (d.info.shape.empty()) {  // a scalar: one row, all or nothing
    ELM_CHECK(first == 0 && (count == 0 || count == 1), "HDF5 file ", path_, ": ", what, " is a scalar (one row)");
    file_space = Handle(checked(H5Scopy(d.space.get()), path_, what), H5Sclose);
    mem_space = Handle(checked(H5Screate(H5S_SCALAR), path_, what), H5Sclose);
    if (count == 0) {
      checked_status(H5Sselect_none(file_space.get()), path_, what);
      checked_status(H5Sselect_none(mem_space.get()), path_, what);
    }
  } else {
    std::tie(file_space, mem_space) = row_selection(d, first, count, path_, name, stride);
  }
  Handle bool_t;
  hid_t mem_type = numeric_types(kind).second;
  std::vector<int8_t> norm;
  if (kind == H5Kind::Bool) {
    bool_t = bool_type(path_);
    mem_type = bool_t.get();
    const int64_t n = count * d.info.row_size();
    norm.resize(static_cast<size_t>(n));
    const auto* p = static_cast<const uint8_t*>(data);
    for (int64_t i = 0; i < n; ++i) norm[static_cast<size_t>(i)] = p[i] ? 1 : 0;
    data = norm.data();
  }
  const hid_t dxpl = dxpl_ >= 0 ? dxpl_ : H5P_DEFAULT;
  checked_status(H5Dwrite(d.ds.get(), mem_type, mem_space.get(), file_space.get(), dxpl, data), path_, what + ": write");
  if (!collective_) {
    ++stats_.serial_writes;
    return;
  }
#ifdef H5_HAVE_PARALLEL
  H5D_mpio_actual_io_mode_t mode = H5D_MPIO_NO_COLLECTIVE;
  checked_status(H5Pget_mpio_actual_io_mode(dxpl_, &mode), path_, what + ": transfer mode");
  if (mode != H5D_MPIO_NO_COLLECTIVE) {
    ++stats_.collective_writes;
  } else {
    uint32_t local = 0, global = 0;
    H5Pget_mpio_no_collective_cause(dxpl_, &local, &global);
    ++stats_.independent_writes;
    stats_.fallbacks.push_back(ds_name(name) + ": " + no_collective_causes(global | local));
  }
#endif
}

void H5File::create_text(const std::string& name, const std::string& value) {
  const std::string what = "dataset '" + ds_name(name) + "'";
  check_writable("create " + what);
  ELM_CHECK(value.find('\0') == std::string::npos, "HDF5 file ", path_, ": ", what, ": value contains a NUL byte");
  quiet();
  Handle t(checked(H5Tcopy(H5T_C_S1), path_, what + ": type"), H5Tclose);
  checked_status(H5Tset_size(t.get(), std::max<size_t>(1, value.size())), path_, what + ": type");
  checked_status(H5Tset_strpad(t.get(), H5T_STR_NULLPAD), path_, what + ": type");
  checked_status(H5Tset_cset(t.get(), H5T_CSET_UTF8), path_, what + ": type");
  Handle space(checked(H5Screate(H5S_SCALAR), path_, what + ": dataspace"), H5Sclose);
  Handle dcpl(checked(H5Pcreate(H5P_DATASET_CREATE), path_, what + ": properties"), H5Pclose);
  checked_status(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), path_, what + ": allocation time");
  checked_status(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), path_, what + ": fill time");
  Handle ds(checked(H5Dcreate2(id_, ds_name(name).c_str(), t.get(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                    path_, what + ": create"),
            H5Dclose);
  std::string buf = value;
  buf.resize(std::max<size_t>(1, value.size()), '\0');
  Handle mem(checked(H5Scopy(space.get()), path_, what), H5Sclose);
  Handle file(checked(H5Scopy(space.get()), path_, what), H5Sclose);
  if (rank_ != 0) {  // rank 0 writes it; the others take part in the collective call
    checked_status(H5Sselect_none(mem.get()), path_, what);
    checked_status(H5Sselect_none(file.get()), path_, what);
  }
  const hid_t dxpl = dxpl_ >= 0 ? dxpl_ : H5P_DEFAULT;
  checked_status(H5Dwrite(ds.get(), t.get(), mem.get(), file.get(), dxpl, buf.data()), path_, what + ": write");
}

}  // namespace elm::io
