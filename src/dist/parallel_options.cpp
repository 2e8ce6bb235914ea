#include "dist/parallel_options.h"

#include <cmath>

#include "core/config.h"
#include "core/error.h"

namespace elm::dist {

Backend parse_backend(const std::string& text) {
  if (text == "auto") return Backend::automatic;
  if (text == "mpi") return Backend::mpi;
  if (text == "nccl") return Backend::nccl;
  fail("parallel.backend = \"", text, "\" must be one of: auto, mpi, nccl");
}

const char* backend_name(Backend backend) {
  switch (backend) {
    case Backend::automatic: return "auto";
    case Backend::mpi: return "mpi";
    case Backend::nccl: return "nccl";
  }
  return "?";
}

ParallelOptions ParallelOptions::from_config(const Config& c) {
  ParallelOptions o;
  o.pp = c.get_int("parallel.pp");
  o.dp = c.get_int("parallel.dp");
  o.timeout_seconds = c.get_float("parallel.timeout_seconds");
  o.bucket_mb = c.get_float("parallel.bucket_mb");
  o.backend = parse_backend(c.get_string("parallel.backend"));
  o.bank_sharding = parse_sharding(c.get_string("parallel.bank_sharding"));
  o.schedule = parse_schedule(c.get_string("parallel.schedule"));
  o.microbatches = c.get_int("parallel.microbatches");
  o.stage_layers = c.get_string("parallel.stage_layers");
  o.recompute = c.get_bool("parallel.recompute");
  return o;
}

CommunicatorOptions ParallelOptions::communicator_options(const std::string& name) const {
  ELM_CHECK(timeout_seconds > 0, "parallel.timeout_seconds = ", timeout_seconds, " must be > 0");
  const double bytes = std::round(bucket_mb * 1024.0 * 1024.0);
  ELM_CHECK(bytes >= 1 && bytes < 9.0e18, "parallel.bucket_mb = ", bucket_mb, " does not give a usable bucket size");
  CommunicatorOptions options;
  options.timeout_seconds = timeout_seconds;
  options.bucket_bytes = static_cast<int64_t>(bytes);
  options.name = name;
  return options;
}

}  // namespace elm::dist
