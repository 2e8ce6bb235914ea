#pragma once
// MPI return codes as elm::Error. Communicators set MPI_ERRORS_RETURN (the default handler,
// MPI_ERRORS_ARE_FATAL, would kill the job without saying which call failed on which rank).
#include <mpi.h>

#include <string>

namespace elm::dist {

// MPI_Error_string for `code` ("MPI_ERR_TRUNCATE: message truncated").
std::string mpi_error_text(int code);

// Throws elm::Error "<op> failed on <where>: <MPI error text>" unless code == MPI_SUCCESS.
// `where` is a communicator's description ("rank 2 of 4").
void check_mpi(int code, const char* op, const std::string& where);

}  // namespace elm::dist
