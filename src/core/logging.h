#pragma once
// Logging: one line per event, rank-tagged, on Boost.Log (kept out of this header).
//
//   2026-11-29 04:00:00.123 [r0] INFO  loaded 399 tensors
//
// Console (stderr, so stdout stays clean for machine-readable output): rank 0 only unless
// console_all_ranks. File: one per rank (the caller passes e.g. RUN/logs/rank0.log), appended to,
// flushed after every line. Works before init() (console, level info, detected rank). Thread-safe.
// A message with embedded newlines stays one line: each '\n' is written as the two characters
// "\n" (and '\r' as "\r"); trailing newlines are dropped.
//
//   ELM_LOG(info) << "loaded " << n << " tensors";
//   elm::log::write(elm::log::Level::warning, "no GPU found");
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>

namespace elm::log {

enum class Level { trace, debug, info, warning, error };

// "trace", "debug", "info", "warning" (or "warn"), "error"; case-insensitive.
std::optional<Level> parse_level(std::string_view text);
// "trace", "debug", "info", "warning", "error".
const char* level_name(Level level);

// The MPI rank from the launcher's environment: OMPI_COMM_WORLD_RANK, PMIX_RANK, PMI_RANK,
// SLURM_PROCID (first one set to a non-negative integer); 0 if none.
int detect_rank();

struct Options {
  int rank = -1;  // -1: keep the rank set before (set_rank, an earlier init), else detect_rank()
  Level console_level = Level::info;
  bool console_all_ranks = false;
  std::string file;  // empty: no file; its parent directory is created if missing
  Level file_level = Level::debug;
};

// (Re)configures the sinks; may be called again, e.g. once the run directory is known. Reopening
// the same file keeps it open; a different file closes the old one. Throws elm::Error when the
// file cannot be opened.
void init(const Options& options);
// Sets the rank in the tag (and the console filter), e.g. after MPI_Init; later init() calls with
// Options::rank == -1 keep it.
void set_rank(int rank);
int rank();
// Whether a message at `level` would reach any sink (skip expensive formatting otherwise).
bool enabled(Level level);
// Logs one event. Never throws.
void write(Level level, const std::string& message);
// Removes the sinks and closes the file; a later write() starts again with the default console.
void shutdown();

// The exact line write() produces for `message` now (without the trailing newline).
std::string format_line(Level level, std::string_view message);

// Collects a message with operator<< and writes it when destroyed (end of the full expression).
class Line {
 public:
  explicit Line(Level level);
  ~Line();
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;

  template <class T>
  Line& operator<<(const T& value) {
    if (out_) *out_ << value;
    return *this;
  }
  Line& operator<<(std::ostream& (*manip)(std::ostream&)) {
    if (out_) *out_ << manip;
    return *this;
  }

 private:
  Level level_;
  std::optional<std::ostringstream> out_;  // empty when the level is filtered out everywhere
};

}  // namespace elm::log

#define ELM_LOG(level) ::elm::log::Line(::elm::log::Level::level)
