#include "core/run_dir.h"

#include <unistd.h>

#include <ctime>
#include <filesystem>

#include "core/build_info.h"
#include "core/error.h"

namespace elm {

namespace fs = std::filesystem;

namespace {

void make_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  // Another rank may have created it meanwhile; only a missing directory is an error.
  ELM_CHECK(fs::is_directory(dir), "cannot create run directory ", dir.string(), ": ",
            ec ? ec.message() : std::string("exists and is not a directory"));
}

std::string now_text() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z", &tm);
  return buf;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "?";
  return buf;
}

}  // namespace

RunDir prepare_run_dir(const Config& config, const std::string& command, int rank) {
  RunDir run;
  const std::string& dir = config.get_string("run.dir");
  if (dir.empty()) return run;
  if (rank < 0) rank = log::rank();
  fs::path root(dir);
  fs::path logs = root / "logs";
  make_dir(root);
  make_dir(logs);
  run.root = root.string();
  run.logs_dir = logs.string();
  run.log_file = (logs / str_cat("rank", rank, ".log")).string();
  run.config_file = (root / "config.resolved.toml").string();
  if (rank == 0) {
    std::string header = str_cat("ExplicitLM resolved config (every key; read back with --config)\n",
                                 "command: ", command, "\n");
    if (!config.get_string("run.name").empty()) {
      header += str_cat("run name: ", config.get_string("run.name"), "\n");
    }
    header += str_cat("version: ", ELM_VERSION, " (", ELM_BUILD_TYPE, ")\n", "written: ", now_text(),
                      " on ", host_name());
    config.write_toml(run.config_file, header);
  }
  return run;
}

log::Options logging_options(const Config& config, const RunDir& run) {
  log::Options o;
  auto level = [&](const char* key) {
    auto l = log::parse_level(config.get_string(key));
    ELM_CHECK(l, "config key '", key, "': unknown log level '", config.get_string(key), "'");
    return *l;
  };
  o.console_level = level("logging.level");
  o.file_level = level("logging.file_level");
  o.console_all_ranks = config.get_bool("logging.all_ranks_console");
  o.file = run.log_file;
  return o;
}

}  // namespace elm
