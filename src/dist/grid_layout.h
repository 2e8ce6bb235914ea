#pragma once
// The arithmetic of the pp x dp process grid, without MPI (process_grid.h builds the groups).
//
// Layout: world rank = stage * dp + dp_rank. Stage s owns world ranks [s*dp, (s+1)*dp) (one
// stage per block of consecutive ranks, so a stage's DP group lands on as few nodes as launchers
// that fill nodes in rank order allow: gradient all-reduces stay inside them); the pipeline group
// of dp_rank d is {d, dp + d, 2*dp + d, ...}, one rank per stage.
//
//   pp = 2, dp = 3, world 6:   stage 0: ranks 0 1 2    pipeline groups: {0,3} {1,4} {2,5}
//                              stage 1: ranks 3 4 5
#include <cstdint>
#include <vector>

namespace elm::dist {

struct GridLayout {
  int world_size = 1;
  int pp = 1;
  int dp = 1;

  // Validates and fills in dp (0 = world_size / pp). Throws elm::Error naming the values when
  // pp < 1, dp < 0, pp does not divide the world, or pp * dp != world_size.
  static GridLayout make(int world_size, int64_t pp, int64_t dp);

  int stage_of(int rank) const { return rank / dp; }
  int dp_rank_of(int rank) const { return rank % dp; }
  int rank_of(int stage, int dp_rank) const { return stage * dp + dp_rank; }
  // World ranks of stage `stage`'s DP group, in dp_rank order.
  std::vector<int> dp_group(int stage) const;
  // World ranks of the pipeline group of `dp_rank`, in stage order.
  std::vector<int> pipeline_group(int dp_rank) const;
};

}  // namespace elm::dist
