#pragma once
// A progress display for long loops (training steps, evaluation batches). On a terminal it redraws
// one line in place ("\r"): label, bar, done/total, percent, rate, ETA and a status text, at most
// ~5 times per second. Elsewhere (a Slurm log, a pipe) it prints a plain line every ~10% of the
// total and at finish(), never "\r", so log files stay readable.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

namespace elm::train {

class Progress {
 public:
  // tty: 1 terminal mode, 0 line mode, -1 decide with isatty(stderr). total <= 0: unknown (no bar,
  // no ETA; line mode then prints only at finish()).
  Progress(std::string label, int64_t total, std::ostream& out, int tty = -1);
  Progress(std::string label, int64_t total);  // out = std::cerr
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress();  // ends a pending terminal line with '\n' if finish() was not called

  // `done` items of `total` completed; status is free text such as "loss 1.234 lr 2e-4".
  void update(int64_t done, const std::string& status = "");
  // Prints the final state (terminal: redraw and '\n'; line mode: one last line). Idempotent.
  void finish(const std::string& status = "");

  // The rate counts items done since `done` at the time of this call (e.g. the step a resumed run
  // starts from), not since 0.
  void set_start(int64_t done);
  // Seconds since an arbitrary epoch; tests substitute a fake clock.
  void set_clock(std::function<double()> now);

  // Formatting helpers, exposed for tests: "1:05", "2:03:04"; "--:--" for a negative/inf value.
  static std::string format_duration(double seconds);

 private:
  std::string render(bool final_line, const std::string& status) const;
  void draw(const std::string& line);

  std::string label_;
  int64_t total_;
  std::ostream& out_;
  bool tty_;
  int columns_ = 0;  // terminal width for truncation; 0 = unknown (no truncation)
  std::function<double()> now_;
  double start_time_ = 0, last_draw_ = -1;
  int64_t start_done_ = 0, done_ = 0;
  int last_decile_ = 0;
  size_t last_width_ = 0;  // visible width of the last terminal line, to blank leftovers
  bool drawn_ = false, finished_ = false;
};

}  // namespace elm::train
