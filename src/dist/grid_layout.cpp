#include "dist/grid_layout.h"

#include "core/error.h"

namespace elm::dist {

GridLayout GridLayout::make(int world_size, int64_t pp, int64_t dp) {
  ELM_CHECK(world_size >= 1, "the MPI world size must be >= 1, got ", world_size);
  ELM_CHECK(pp >= 1, "parallel.pp = ", pp, " must be >= 1");
  ELM_CHECK(dp >= 0, "parallel.dp = ", dp, " must be >= 0 (0: world size / parallel.pp)");
  if (dp == 0) {
    ELM_CHECK(world_size % pp == 0, "parallel.pp = ", pp, " does not divide the MPI world size ", world_size,
              " (with parallel.dp = 0 every stage gets world size / pp ranks)");
    dp = world_size / pp;
  }
  ELM_CHECK(pp * dp == world_size, "parallel.pp * parallel.dp = ", pp, " * ", dp, " = ", pp * dp,
            " but the MPI world has ", world_size, " rank", world_size == 1 ? "" : "s",
            " (launch pp * dp ranks, or set parallel.dp = 0)");
  GridLayout layout;
  layout.world_size = world_size;
  layout.pp = static_cast<int>(pp);
  layout.dp = static_cast<int>(dp);
  return layout;
}

std::vector<int> GridLayout::dp_group(int stage) const {
  ELM_CHECK(stage >= 0 && stage < pp, "stage ", stage, " is not in 0..", pp - 1);
  std::vector<int> ranks;
  for (int d = 0; d < dp; ++d) ranks.push_back(rank_of(stage, d));
  return ranks;
}

std::vector<int> GridLayout::pipeline_group(int dp_rank) const {
  ELM_CHECK(dp_rank >= 0 && dp_rank < dp, "dp rank ", dp_rank, " is not in 0..", dp - 1);
  std::vector<int> ranks;
  for (int s = 0; s < pp; ++s) ranks.push_back(rank_of(s, dp_rank));
  return ranks;
}

}  // namespace elm::dist
