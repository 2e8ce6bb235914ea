#include "train/metrics_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace elm::train {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ELM_CHECK(in.good(), "cannot read metrics file '", path, "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The lines of `text` to keep on resume: complete lines (a final line without '\n' is the remains of
// a crash mid-write) whose "step" is at most resume_step. Lines without a numeric step are kept.
std::string kept_lines(const std::string& path, const std::string& text, int64_t resume_step) {
  std::string kept;
  size_t begin = 0;
  for (int64_t line_no = 1;; ++line_no) {
    const size_t end = text.find('\n', begin);
    if (end == std::string::npos) break;
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      fail(path, ":", line_no, ": invalid JSON in metrics file: ", e.what());
    }
    ELM_CHECK(j.is_object(), path, ":", line_no, ": a metrics line must be a JSON object");
    const auto step = j.find("step");
    if (step != j.end() && step->is_number() && step->get<double>() > static_cast<double>(resume_step)) continue;
    kept += line;
    kept += '\n';
  }
  return kept;
}

}  // namespace

MetricsLog::MetricsLog(std::string path, int64_t resume_step) : path_(std::move(path)) {
  ELM_CHECK(!path_.empty(), "metrics log: empty path");
  const auto parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    ELM_CHECK(!ec, "cannot create directory '", parent.string(), "' for metrics file: ", ec.message());
  }
  int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
  if (resume_step < 0) {
    flags |= O_TRUNC;
  } else if (std::error_code ec; std::filesystem::exists(path_, ec)) {
    const std::string text = read_all(path_);
    const std::string kept = kept_lines(path_, text, resume_step);
    // Rewrite through a temp file + rename: a crash here leaves the old or the new file, never a mix.
    if (kept != text) write_file_atomic(path_, kept);
  }
  fd_ = ::open(path_.c_str(), flags, 0644);
  if (fd_ < 0) fail("cannot open metrics file '", path_, "': ", std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (fd_ >= 0) ::close(fd_);
}

void MetricsLog::write(const nlohmann::json& line) {
  ELM_CHECK(line.is_object(), "metrics log ", path_, ": a line must be a JSON object, got ", line.type_name());
  // "kind" and "step" first, the rest in key order: `tail -f metrics.jsonl` stays readable.
  nlohmann::ordered_json ordered;
  for (const char* key : {"kind", "step"}) {
    if (const auto it = line.find(key); it != line.end()) ordered[key] = *it;
  }
  for (const auto& [key, value] : line.items()) {
    if (key != "kind" && key != "step") ordered[key] = value;
  }
  // Compact dump never contains '\n' (strings escape it); bad UTF-8 is replaced rather than thrown on.
  std::string text = ordered.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  text += '\n';
  // One write(2) of the whole line; O_APPEND makes it land at the end even with other readers.
  // Loop only for the (regular-file, practically never) short write or EINTR.
  const char* p = text.data();
  size_t n = text.size();
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("write to metrics file '", path_, "' failed: ", std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace elm::train
