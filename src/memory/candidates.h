#pragma once
// Candidate embeddings (ARCHITECTURE 3.4): the mean of the frozen token embeddings of an entry's
// tokens, excluding padding. An entry is usable only when the bank flags it valid and it holds at
// least one non-padding token; unusable entries get a zero embedding and valid = false, and the
// selection never picks them.
#include <cstdint>

#include <torch/torch.h>

#include "memory/bank_reader.h"

namespace elm::memory {

struct CandidateEmbeddings {
  torch::Tensor embeddings;  // [..., d] float32 (zeros where invalid)
  torch::Tensor valid;       // [...] bool
};

// tokens [..., L] int64, valid [...] bool, embedding table [V, d] (any float dtype).
// Token ids must lie in [0, V) (a clear elm::Error otherwise). No gradient reaches the table.
CandidateEmbeddings mean_token_embeddings(const torch::Tensor& tokens, const torch::Tensor& valid, int64_t pad_id,
                                          const torch::Tensor& embedding_table);

// Fetches the rows of `indices` (any shape) from the bank (each distinct entry once) and embeds
// them; the result is on the embedding table's device.
CandidateEmbeddings embed_candidates(const BankReader& bank, const torch::Tensor& indices,
                                     const torch::Tensor& embedding_table);

}  // namespace elm::memory
