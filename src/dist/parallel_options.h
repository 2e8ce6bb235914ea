#pragma once
// The [parallel] config keys as one struct (docs/config.md, docs/distributed.md).
#include <cstdint>
#include <string>

#include "dist/bank_sharding.h"
#include "dist/communicator.h"
#include "dist/pipeline_schedule.h"

namespace elm {
class Config;
}

namespace elm::dist {

enum class Backend { automatic, mpi, nccl };

// "auto", "mpi", "nccl" (elm::Error otherwise).
Backend parse_backend(const std::string& text);
const char* backend_name(Backend backend);

struct ParallelOptions {
  int64_t pp = 1;                  // pipeline stages
  int64_t dp = 0;                  // data-parallel ranks per stage; 0 = world size / pp
  double timeout_seconds = 600.0;  // deadline of one blocking communication
  double bucket_mb = 25.0;         // all-reduce bucket size in MiB
  Backend backend = Backend::automatic;
  BankSharding bank_sharding = BankSharding::kBlock;  // which bank rows each DP rank holds
  ScheduleKind schedule = ScheduleKind::one_f_one_b;  // pipeline schedule (pp > 1)
  int64_t microbatches = 4;                            // pipeline chunks per training micro-batch
  std::string stage_layers;                            // layers per stage, "" = balanced by cost
  bool recompute = false;                              // recompute each chunk's forward before its backward

  static ParallelOptions from_config(const Config& config);

  // The options a communicator of group `name` gets.
  CommunicatorOptions communicator_options(const std::string& name) const;
};

}  // namespace elm::dist
