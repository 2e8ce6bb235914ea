#include "dist/mpi_error.h"

#include "core/error.h"

namespace elm::dist {

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return str_cat("MPI error code ", code);
  return std::string(text, static_cast<size_t>(length));
}

void check_mpi(int code, const char* op, const std::string& where) {
  if (code == MPI_SUCCESS) return;
  fail(op, " failed on ", where, ": ", mpi_error_text(code));
}

}  // namespace elm::dist
