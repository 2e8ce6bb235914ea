#pragma once
// The [parallel] config keys as one struct (docs/config.md, docs/distributed.md).
#include <cstdint>
#include <string>

#include "dist/bank_sharding.h"
#include "dist/communicator.h"

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

  static ParallelOptions from_config(const Config& config);

  // The options a communicator of group `name` gets.
  CommunicatorOptions communicator_options(const std::string& name) const;
};

}  // namespace elm::dist
