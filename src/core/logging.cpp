#include "core/logging.h"

#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>

#include <boost/core/null_deleter.hpp>
#include <boost/log/attributes/value_extraction.hpp>
#include <boost/log/core.hpp>
#include <boost/log/expressions/message.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/text_ostream_backend.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/smart_ptr/make_shared_object.hpp>

#include "core/error.h"

namespace elm::log {

namespace {

namespace bl = boost::log;
using Sink = bl::sinks::synchronous_sink<bl::sinks::text_ostream_backend>;

struct State {
  std::mutex mu;  // guards the sinks and file_path during (re)configuration
  std::atomic<bool> initialized{false};
  std::atomic<int> rank{0};
  bool rank_explicit = false;  // set by set_rank() or Options::rank >= 0; guarded by mu
  std::atomic<int> console_level{static_cast<int>(Level::info)};
  std::atomic<bool> console_all_ranks{false};
  std::atomic<int> file_level{static_cast<int>(Level::debug)};
  std::atomic<bool> has_file{false};
  boost::shared_ptr<Sink> console;
  boost::shared_ptr<Sink> file;
  std::string file_path;
  bl::sources::severity_logger_mt<Level> logger;
};

// Never destroyed: code running during static destruction may still log.
State& state() {
  static State* s = new State;
  return *s;
}

bool console_takes(const State& s, Level level) {
  return static_cast<int>(level) >= s.console_level.load(std::memory_order_relaxed) &&
         (s.rank.load(std::memory_order_relaxed) == 0 ||
          s.console_all_ranks.load(std::memory_order_relaxed));
}

bool file_takes(const State& s, Level level) {
  return s.has_file.load(std::memory_order_relaxed) &&
         static_cast<int>(level) >= s.file_level.load(std::memory_order_relaxed);
}

std::optional<Level> record_level(const bl::attribute_value_set& attrs) {
  auto v = bl::extract<Level>("Severity", attrs);
  if (!v) return std::nullopt;
  return *v;
}

boost::shared_ptr<Sink> make_sink(boost::shared_ptr<std::ostream> stream) {
  auto backend = boost::make_shared<bl::sinks::text_ostream_backend>();
  backend->add_stream(std::move(stream));
  backend->auto_flush(true);
  auto sink = boost::make_shared<Sink>(backend);
  sink->set_formatter([](const bl::record_view& rec, bl::formatting_ostream& out) {
    out << rec[bl::expressions::smessage];
  });
  return sink;
}

// Caller holds s.mu.
void init_locked(State& s, const Options& o) {
  if (o.rank >= 0) {
    s.rank.store(o.rank);
    s.rank_explicit = true;
  } else if (!s.rank_explicit) {
    s.rank.store(detect_rank());
  }
  s.console_level.store(static_cast<int>(o.console_level));
  s.console_all_ranks.store(o.console_all_ranks);
  s.file_level.store(static_cast<int>(o.file_level));
  auto core = bl::core::get();
  if (!s.console) {
    s.console = make_sink(boost::shared_ptr<std::ostream>(&std::cerr, boost::null_deleter()));
    State* sp = &s;
    s.console->set_filter([sp](const bl::attribute_value_set& attrs) {
      auto level = record_level(attrs);
      return level && console_takes(*sp, *level);
    });
    core->add_sink(s.console);
  }
  if (o.file != s.file_path) {
    if (s.file) {
      core->remove_sink(s.file);
      s.file->flush();
      s.file.reset();
      s.has_file.store(false);
    }
    s.file_path.clear();
    if (!o.file.empty()) {
      std::filesystem::path path(o.file);
      std::error_code ec;
      if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
      auto stream = boost::make_shared<std::ofstream>(o.file, std::ios::out | std::ios::app);
      ELM_CHECK(stream->is_open(), "cannot open log file ", o.file, ": ", std::strerror(errno));
      s.file = make_sink(stream);
      State* sp = &s;
      s.file->set_filter([sp](const bl::attribute_value_set& attrs) {
        auto level = record_level(attrs);
        return level && file_takes(*sp, *level);
      });
      core->add_sink(s.file);
      s.file_path = o.file;
      s.has_file.store(true);
    }
  }
  s.initialized.store(true, std::memory_order_release);
}

void ensure_init(State& s) {
  if (s.initialized.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.initialized.load()) init_locked(s, Options{});
}

const char* level_tag(Level level) {
  switch (level) {
    case Level::trace: return "TRACE";
    case Level::debug: return "DEBUG";
    case Level::info: return "INFO ";
    case Level::warning: return "WARN ";
    case Level::error: return "ERROR";
  }
  return "?    ";
}

}  // namespace

std::optional<Level> parse_level(std::string_view text) {
  std::string t(text);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "trace") return Level::trace;
  if (t == "debug") return Level::debug;
  if (t == "info") return Level::info;
  if (t == "warning" || t == "warn") return Level::warning;
  if (t == "error") return Level::error;
  return std::nullopt;
}

const char* level_name(Level level) {
  switch (level) {
    case Level::trace: return "trace";
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warning: return "warning";
    case Level::error: return "error";
  }
  return "?";
}

int detect_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"}) {
    const char* v = std::getenv(name);
    if (!v || !*v) continue;
    int rank = -1;
    auto end = v + std::strlen(v);
    auto res = std::from_chars(v, end, rank);
    if (res.ec == std::errc() && res.ptr == end && rank >= 0) return rank;
  }
  return 0;
}

void init(const Options& options) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  init_locked(s, options);
}

void set_rank(int rank) {
  State& s = state();
  ensure_init(s);
  std::lock_guard<std::mutex> lock(s.mu);
  s.rank.store(rank < 0 ? 0 : rank);
  s.rank_explicit = true;
}

int rank() {
  ensure_init(state());
  return state().rank.load();
}

bool enabled(Level level) {
  State& s = state();
  ensure_init(s);
  return console_takes(s, level) || file_takes(s, level);
}

std::string format_line(Level level, std::string_view message) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  localtime_r(&secs, &tm);
  char stamp[40];
  std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03d", static_cast<int>(millis));

  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
    message.remove_suffix(1);
  }
  std::string line;
  line.reserve(message.size() + 48);
  line += stamp;
  line += " [r";
  line += std::to_string(state().rank.load(std::memory_order_relaxed));
  line += "] ";
  line += level_tag(level);
  line += ' ';
  for (char c : message) {
    if (c == '\n') {
      line += "\\n";
    } else if (c == '\r') {
      line += "\\r";
    } else {
      line += c;
    }
  }
  return line;
}

void write(Level level, const std::string& message) {
  try {
    State& s = state();
    ensure_init(s);
    if (!console_takes(s, level) && !file_takes(s, level)) return;
    std::string line = format_line(level, message);
    auto rec = s.logger.open_record(bl::keywords::severity = level);
    if (rec) {
      bl::record_ostream out(rec);
      out << line;
      out.flush();
      s.logger.push_record(std::move(rec));
    }
  } catch (...) {
    // Logging must never take the program down (full disk, closed stderr).
  }
}

void shutdown() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  auto core = bl::core::get();
  if (s.file) {
    core->remove_sink(s.file);
    s.file->flush();
    s.file.reset();
  }
  if (s.console) {
    core->remove_sink(s.console);
    s.console.reset();
  }
  s.file_path.clear();
  s.has_file.store(false);
  s.rank_explicit = false;
  s.initialized.store(false);
}

Line::Line(Level level) : level_(level) {
  if (enabled(level)) out_.emplace();
}

Line::~Line() {
  if (out_) write(level_, out_->str());
}

}  // namespace elm::log
