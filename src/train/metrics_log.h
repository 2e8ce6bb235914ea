#pragma once
// The training metrics file (RUN/metrics.jsonl): one JSON object per line, appended and flushed
// line by line, so `tools/plot-metrics` and `tail -f` can read it while a run is going and a crash
// leaves at most the lines written so far (never a half line after the next open).
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace elm::train {

class MetricsLog {
 public:
  // resume_step < 0: a fresh run, PATH is created or truncated.
  // resume_step >= 0: a run resumed from the checkpoint of that step: PATH is kept, a trailing
  // partial line (crash while writing) is removed and lines whose "step" > resume_step (written
  // after the checkpoint and about to be redone) are dropped; the file is rewritten atomically
  // when anything changes. A complete line that is not a JSON object is an error naming PATH:LINE.
  explicit MetricsLog(std::string path, int64_t resume_step = -1);
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  ~MetricsLog();

  // Appends line (a JSON object) as one compact line with a single write(2), so the kernel holds the
  // whole line before write returns (no user-space buffer to lose). Not fsynced per line.
  void write(const nlohmann::json& line);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace elm::train
