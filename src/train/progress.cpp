#include "train/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace elm::train {
namespace {

constexpr double kRedrawSeconds = 0.2;  // ~5 redraws per second: smooth, yet cheap over ssh
constexpr int kBarWidth = 30;

double steady_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string format_rate(double rate) {
  char buf[48];
  if (!(rate > 0) || !std::isfinite(rate)) return "-- it/s";
  // Slow loops (a training step of several seconds) read better as seconds per item.
  if (rate < 1) {
    std::snprintf(buf, sizeof buf, "%.2f s/it", 1.0 / rate);
  } else if (rate < 100) {
    std::snprintf(buf, sizeof buf, "%.2f it/s", rate);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f it/s", rate);
  }
  return buf;
}

}  // namespace

Progress::Progress(std::string label, int64_t total, std::ostream& out, int tty)
    : label_(std::move(label)), total_(total), out_(out), now_(steady_seconds) {
  tty_ = tty < 0 ? ::isatty(STDERR_FILENO) == 1 : tty != 0;
  if (tty < 0 && tty_) {
    winsize ws{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) columns_ = ws.ws_col;
  }
  start_time_ = now_();
}

Progress::Progress(std::string label, int64_t total) : Progress(std::move(label), total, std::cerr, -1) {}

Progress::~Progress() {
  if (tty_ && drawn_ && !finished_) {
    out_ << "\n";
    out_.flush();
  }
}

void Progress::set_start(int64_t done) {
  start_done_ = done;
  done_ = done;
  start_time_ = now_();
  if (total_ > 0) last_decile_ = static_cast<int>(std::clamp<int64_t>(done * 10 / total_, 0, 10));
}

void Progress::set_clock(std::function<double()> now) {
  now_ = std::move(now);
  start_time_ = now_();
}

std::string Progress::format_duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds) || seconds > 1e9) return "--:--";
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  char buf[48];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  }
  return buf;
}

std::string Progress::render(bool final_line, const std::string& status) const {
  const double elapsed = std::max(now_() - start_time_, 0.0);
  const double rate = elapsed > 0 ? static_cast<double>(done_ - start_done_) / elapsed : 0.0;
  std::string line = label_;
  char buf[96];
  if (total_ > 0) {
    const double frac = std::clamp(static_cast<double>(done_) / static_cast<double>(total_), 0.0, 1.0);
    const int filled = static_cast<int>(frac * kBarWidth);
    if (tty_) line += " [" + std::string(filled, '#') + std::string(kBarWidth - filled, '.') + "]";
    // Fixed-width percent on a terminal keeps the redrawn line from jittering.
    std::snprintf(buf, sizeof buf, tty_ ? " %lld/%lld %3.0f%%" : " %lld/%lld (%.0f%%)", static_cast<long long>(done_),
                  static_cast<long long>(total_), frac * 100.0);
    line += buf;
  } else {
    std::snprintf(buf, sizeof buf, " %lld", static_cast<long long>(done_));
    line += buf;
  }
  line += " " + format_rate(rate);
  if (final_line) {
    line += " in " + format_duration(elapsed);
  } else if (total_ > 0) {
    const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : -1.0;
    line += " ETA " + format_duration(eta);
  }
  if (!status.empty()) line += " " + status;
  return line;
}

void Progress::draw(const std::string& line) {
  std::string shown = line;
  if (columns_ > 1 && shown.size() >= static_cast<size_t>(columns_)) shown.resize(static_cast<size_t>(columns_) - 1);
  // Blank what a longer previous line left behind, then return the cursor again.
  const size_t pad = last_width_ > shown.size() ? last_width_ - shown.size() : 0;
  out_ << '\r' << shown << std::string(pad, ' ');
  if (pad) out_ << '\r' << shown;
  out_.flush();
  last_width_ = shown.size();
  drawn_ = true;
}

void Progress::update(int64_t done, const std::string& status) {
  if (finished_) return;
  done_ = done;
  const double now = now_();
  if (tty_) {
    const bool complete = total_ > 0 && done >= total_;
    if (!drawn_ || complete || now - last_draw_ >= kRedrawSeconds) {
      draw(render(false, status));
      last_draw_ = now;
    }
    return;
  }
  if (total_ <= 0) return;
  const int decile = static_cast<int>(std::clamp<int64_t>(done * 10 / total_, 0, 10));
  if (decile > last_decile_) {
    last_decile_ = decile;
    out_ << render(false, status) << "\n";
    out_.flush();
  }
}

void Progress::finish(const std::string& status) {
  if (finished_) return;
  finished_ = true;
  if (tty_) {
    draw(render(true, status));
    out_ << "\n";
  } else {
    out_ << render(true, status) << "\n";
  }
  out_.flush();
}

}  // namespace elm::train
