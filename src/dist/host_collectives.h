#pragma once
// Small host-side collectives over a raw MPI communicator, for code that writes files together
// (the collective checkpoint writer) rather than moving tensors: every rank's text to every rank,
// an XOR of 64-bit words, rank 0's verdict for all, an all-to-all of raw bytes. MPI_COMM_NULL stands for one process alone:
// the calls then return this process's own values. MPI errors throw elm::Error naming the rank.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace elm::dist {

// Collective: element r is rank r's `text`.
std::vector<std::string> all_gather_text(MPI_Comm comm, const std::string& text);
// Collective: every rank gets the bitwise XOR over the ranks, element by element (same length).
void all_reduce_xor(MPI_Comm comm, std::vector<uint64_t>& words);
// Collective: rank 0's `text` on every rank.
std::string broadcast_text_from_root(MPI_Comm comm, const std::string& text);
// Collective: sends send_counts[r] bytes (consecutive in `send`, in rank order) to each rank r and
// returns what each rank sends here, recv_counts[r] bytes from rank r, in rank order. Counts and
// totals must fit MPI's int (an elm::Error otherwise, before any communication).
std::vector<char> all_to_all_bytes(MPI_Comm comm, const char* send, const std::vector<int64_t>& send_counts,
                                   const std::vector<int64_t>& recv_counts);
// The rank and size of `comm` (0 and 1 for MPI_COMM_NULL).
int rank_in(MPI_Comm comm);
int size_of(MPI_Comm comm);

}  // namespace elm::dist
