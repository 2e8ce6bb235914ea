#pragma once
// Auxiliary losses of the memory path (ARCHITECTURE 3.7).
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace elm::memory {

// -mean of the selected cosine similarity [...] over the tokens where token_valid (undefined = all).
torch::Tensor similarity_loss(const torch::Tensor& selected_similarity, const torch::Tensor& token_valid = {});

// Mean off-diagonal cosine among the candidates [..., C, d] of each token, over every pair (i != j)
// of valid candidates (candidate_valid [..., C], undefined = all) of valid tokens (token_valid [...],
// undefined = all). 0 when there is no such pair.
torch::Tensor diversity_loss(const torch::Tensor& candidates, const torch::Tensor& candidate_valid = {},
                             const torch::Tensor& token_valid = {});

// Router soft-label loss, mean over queries:
//   -sum_k softmax(target_scores / T)_k * (log_softmax(half_logits1)[u_k] + log_softmax(half_logits2)[v_k])
// with target entry t_k -> grid cell (u_k, v_k) = (t_k / sqrt(N), t_k % sqrt(N)), sqrt(N) =
// half_logits1.size(-1). half_logits [Q, sqrt(N)]; target_indices [Q, K] int64 (a negative index is
// ignored); target_scores [Q, K]. Queries without any target contribute 0 (and are not counted).
torch::Tensor router_soft_label_loss(const torch::Tensor& half_logits1, const torch::Tensor& half_logits2,
                                     const torch::Tensor& target_indices, const torch::Tensor& target_scores,
                                     double temperature = 1.0);

// The denominators of the means above: how many items each averages (0 when none; the losses then
// are 0). Data-parallel training sums them over ranks to weigh each rank's mean into the mean over
// the whole global batch (train/step_losses.h).
int64_t similarity_count(const torch::Tensor& selected_similarity, const torch::Tensor& token_valid = {});
int64_t diversity_pair_count(const torch::Tensor& candidate_valid, const torch::Tensor& token_valid = {});
int64_t router_query_count(const torch::Tensor& target_indices);

// Mean of scalar losses (one per memory layer); a zero scalar when the list is empty.
torch::Tensor mean_over_layers(const std::vector<torch::Tensor>& losses);

}  // namespace elm::memory
