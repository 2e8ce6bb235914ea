// train/progress: terminal mode redraws one line with "\r" at most ~5 times a second and ends it
// with "\n"; line mode prints one plain line per 10% and at finish, never "\r"; rate and ETA.
#include <algorithm>
#include <limits>
#include <sstream>

#include <gtest/gtest.h>

#include "support/assertions.h"
#include "train/progress.h"

namespace elm::train {
namespace {

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// The frames of a terminal line: what follows each '\r' (ignoring the blanking re-draws).
std::string last_frame(const std::string& s) {
  const size_t cr = s.rfind('\r');
  std::string f = s.substr(cr == std::string::npos ? 0 : cr + 1);
  if (!f.empty() && f.back() == '\n') f.pop_back();
  return f;
}

struct FakeClock {
  double t = 0;
  std::function<double()> fn() {
    return [this] { return t; };
  }
};

TEST(Progress, LineModePrintsEveryTenPercentWithoutCarriageReturns) {
  std::ostringstream out;
  FakeClock clock;
  Progress p("train", 100, out, 0);
  p.set_clock(clock.fn());
  for (int i = 1; i <= 100; ++i) {
    clock.t = i * 0.5;
    p.update(i, "loss 1.234 lr 2e-4");
  }
  p.finish("done");
  const std::string text = out.str();
  EXPECT_EQ(text.find('\r'), std::string::npos);
  const auto lines = split_lines(text);
  ASSERT_EQ(lines.size(), 11u) << text;
  EXPECT_EQ(lines[0], "train 10/100 (10%) 2.00 it/s ETA 0:45 loss 1.234 lr 2e-4");
  EXPECT_CONTAINS(lines[4], "50/100 (50%)");
  EXPECT_CONTAINS(lines[10], "100/100 (100%)");
  EXPECT_CONTAINS(lines[10], "in 0:50 done");
}

TEST(Progress, LineModeSkipsNothingWhenUpdatesJumpDeciles) {
  std::ostringstream out;
  Progress p("eval", 3, out, 0);
  p.update(1, "");
  p.update(2, "");
  p.update(3, "");
  EXPECT_EQ(split_lines(out.str()).size(), 3u) << out.str();
  p.finish();
  p.finish();  // idempotent
  EXPECT_EQ(split_lines(out.str()).size(), 4u);
}

TEST(Progress, TerminalModeRedrawsAtMostFiveTimesASecond) {
  std::ostringstream out;
  FakeClock clock;
  Progress p("train", 1000, out, 1);
  p.set_clock(clock.fn());
  for (int i = 1; i <= 100; ++i) {  // 100 updates over 1 second
    clock.t = i * 0.01;
    p.update(i, "loss 2.000");
  }
  const std::string text = out.str();
  const auto frames = std::count(text.begin(), text.end(), '\r');
  EXPECT_GE(frames, 4);
  EXPECT_LE(frames, 6);
  EXPECT_EQ(text.find('\n'), std::string::npos);  // still one line
  clock.t = 2.0;
  p.update(500, "loss 1.000");
  const std::string frame = last_frame(out.str());
  // 500 of 1000: half the 30-character bar filled.
  EXPECT_CONTAINS(frame, "train [" + std::string(15, '#') + std::string(15, '.') + "] 500/1000  50%");
  EXPECT_CONTAINS(frame, "250 it/s");
  EXPECT_CONTAINS(frame, "ETA 0:02 loss 1.000");
  p.finish("loss 0.900");
  EXPECT_EQ(out.str().back(), '\n');
  EXPECT_CONTAINS(last_frame(out.str()), "loss 0.900");
}

TEST(Progress, TerminalModeBlanksWhatALongerLineLeft) {
  std::ostringstream out;
  FakeClock clock;
  Progress p("x", 10, out, 1);
  p.set_clock(clock.fn());
  p.update(1, "a very long status text here");
  const size_t long_len = out.str().size() - 1;  // minus the leading '\r'
  clock.t = 1;
  p.update(2, "short");
  const std::string text = out.str();
  const std::string second = text.substr(long_len + 1);
  // '\r', the new line padded with spaces to the old width, then the line again.
  ASSERT_EQ(second[0], '\r');
  const size_t next_cr = second.find('\r', 1);
  ASSERT_NE(next_cr, std::string::npos);
  EXPECT_EQ(next_cr - 1, long_len);
  EXPECT_EQ(second[next_cr - 1], ' ');
}

TEST(Progress, DestructorEndsAnUnfinishedTerminalLine) {
  std::ostringstream out;
  {
    Progress p("x", 10, out, 1);
    p.update(3, "");
  }
  EXPECT_EQ(out.str().back(), '\n');
  std::ostringstream quiet;
  { Progress p("x", 10, quiet, 1); }
  EXPECT_EQ(quiet.str(), "");  // nothing drawn, nothing to end
}

TEST(Progress, RateCountsFromTheResumeStep) {
  std::ostringstream out;
  FakeClock clock;
  Progress p("train", 2000, out, 1);
  p.set_clock(clock.fn());
  p.set_start(1000);
  clock.t = 10;
  p.update(1050, "");
  EXPECT_CONTAINS(last_frame(out.str()), "5.00 it/s ETA 3:10");
}

TEST(Progress, SlowLoopsShowSecondsPerItemAndUnknownTotals) {
  std::ostringstream out;
  FakeClock clock;
  Progress p("step", 0, out, 1);
  p.set_clock(clock.fn());
  clock.t = 8;
  p.update(2, "");
  const std::string frame = last_frame(out.str());
  EXPECT_CONTAINS(frame, "step 2 4.00 s/it");
  EXPECT_EQ(frame.find('['), std::string::npos);  // no bar without a total
  EXPECT_EQ(frame.find("ETA"), std::string::npos);
}

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(Progress::format_duration(0), "0:00");
  EXPECT_EQ(Progress::format_duration(65), "1:05");
  EXPECT_EQ(Progress::format_duration(7384), "2:03:04");
  EXPECT_EQ(Progress::format_duration(-1), "--:--");
  EXPECT_EQ(Progress::format_duration(std::numeric_limits<double>::infinity()), "--:--");
}

}  // namespace
}  // namespace elm::train
