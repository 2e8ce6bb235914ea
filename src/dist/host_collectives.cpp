#include "dist/host_collectives.h"

#include <algorithm>
#include <limits>
#include <tuple>

#include "core/error.h"
#include "dist/mpi_error.h"

namespace elm::dist {
namespace {

std::string where(MPI_Comm comm) {
  return "rank " + std::to_string(rank_in(comm)) + " of " + std::to_string(size_of(comm));
}

}  // namespace

int rank_in(MPI_Comm comm) {
  if (comm == MPI_COMM_NULL) return 0;
  int r = 0;
  MPI_Comm_rank(comm, &r);
  return r;
}

int size_of(MPI_Comm comm) {
  if (comm == MPI_COMM_NULL) return 1;
  int n = 1;
  MPI_Comm_size(comm, &n);
  return n;
}

std::vector<std::string> all_gather_text(MPI_Comm comm, const std::string& text) {
  if (comm == MPI_COMM_NULL) return {text};
  const int n = size_of(comm);
  ELM_CHECK(text.size() < static_cast<size_t>(std::numeric_limits<int>::max() / std::max(1, n)),
            "all_gather_text: ", text.size(), " bytes is too long on ", where(comm));
  int mine = static_cast<int>(text.size());
  std::vector<int> sizes(static_cast<size_t>(n)), offsets(static_cast<size_t>(n));
  check_mpi(MPI_Allgather(&mine, 1, MPI_INT, sizes.data(), 1, MPI_INT, comm), "MPI_Allgather", where(comm));
  int total = 0;
  for (int r = 0; r < n; ++r) {
    offsets[static_cast<size_t>(r)] = total;
    total += sizes[static_cast<size_t>(r)];
  }
  std::string all(static_cast<size_t>(total), '\0');
  check_mpi(MPI_Allgatherv(text.data(), mine, MPI_CHAR, all.data(), sizes.data(), offsets.data(), MPI_CHAR, comm),
            "MPI_Allgatherv", where(comm));
  std::vector<std::string> out;
  for (int r = 0; r < n; ++r) {
    out.push_back(all.substr(static_cast<size_t>(offsets[static_cast<size_t>(r)]),
                             static_cast<size_t>(sizes[static_cast<size_t>(r)])));
  }
  return out;
}

void all_reduce_xor(MPI_Comm comm, std::vector<uint64_t>& words) {
  if (comm == MPI_COMM_NULL || words.empty()) return;
  ELM_CHECK(words.size() < static_cast<size_t>(std::numeric_limits<int>::max()), "all_reduce_xor: too many words");
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, words.data(), static_cast<int>(words.size()), MPI_UINT64_T, MPI_BXOR, comm),
            "MPI_Allreduce", where(comm));
}

std::vector<char> all_to_all_bytes(MPI_Comm comm, const char* send, const std::vector<int64_t>& send_counts,
                                   const std::vector<int64_t>& recv_counts) {
  const int n = size_of(comm);
  ELM_CHECK(static_cast<int>(send_counts.size()) == n && static_cast<int>(recv_counts.size()) == n,
            "all_to_all_bytes: ", send_counts.size(), " send and ", recv_counts.size(), " receive counts for ", n,
            " ranks on ", where(comm));
  auto offsets = [&](const std::vector<int64_t>& counts, const char* what) {
    std::vector<int> c(static_cast<size_t>(n)), o(static_cast<size_t>(n));
    int64_t total = 0;
    for (int r = 0; r < n; ++r) {
      o[static_cast<size_t>(r)] = static_cast<int>(total);
      c[static_cast<size_t>(r)] = static_cast<int>(counts[static_cast<size_t>(r)]);
      total += counts[static_cast<size_t>(r)];
      ELM_CHECK(counts[static_cast<size_t>(r)] >= 0 && total <= std::numeric_limits<int>::max(), "all_to_all_bytes: ",
                what, " ", total, " bytes exceed MPI's int on ", where(comm));
    }
    return std::make_tuple(c, o, total);
  };
  auto [sc, so, send_total] = offsets(send_counts, "sending");
  auto [rc, ro, recv_total] = offsets(recv_counts, "receiving");
  std::vector<char> out(static_cast<size_t>(recv_total));
  if (comm == MPI_COMM_NULL) {
    if (send_total > 0) std::copy(send, send + send_total, out.begin());
    return out;
  }
  check_mpi(MPI_Alltoallv(send, sc.data(), so.data(), MPI_BYTE, out.data(), rc.data(), ro.data(), MPI_BYTE, comm),
            "MPI_Alltoallv", where(comm));
  return out;
}

std::string broadcast_text_from_root(MPI_Comm comm, const std::string& text) {
  if (comm == MPI_COMM_NULL) return text;
  long long size = rank_in(comm) == 0 ? static_cast<long long>(text.size()) : 0;
  check_mpi(MPI_Bcast(&size, 1, MPI_LONG_LONG, 0, comm), "MPI_Bcast", where(comm));
  ELM_CHECK(size < std::numeric_limits<int>::max(), "broadcast_text_from_root: ", size, " bytes is too long");
  std::string out = rank_in(comm) == 0 ? text : std::string(static_cast<size_t>(size), '\0');
  check_mpi(MPI_Bcast(out.data(), static_cast<int>(size), MPI_CHAR, 0, comm), "MPI_Bcast", where(comm));
  return out;
}

}  // namespace elm::dist
