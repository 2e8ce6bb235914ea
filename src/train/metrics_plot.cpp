// metrics.jsonl -> PNG charts. Three parts: a 5x7 bitmap font, a raster chart renderer (axes,
// ticks, grid, lines, markers, legend), and the grouping of metrics keys into charts.
#include "train/metrics_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/png_writer.h"

namespace elm::train {
namespace {

// ---- font ------------------------------------------------------------------------------------
// The classic 5x7 LCD font, ASCII 32..126: 5 columns per glyph, bit 0 = top row.
constexpr uint8_t kFont[95][5] = {
    {0x00, 0x00, 0x00, 0x00, 0x00}, {0x00, 0x00, 0x5F, 0x00, 0x00}, {0x00, 0x07, 0x00, 0x07, 0x00},  //  !"
    {0x14, 0x7F, 0x14, 0x7F, 0x14}, {0x24, 0x2A, 0x7F, 0x2A, 0x12}, {0x23, 0x13, 0x08, 0x64, 0x62},  // #$%
    {0x36, 0x49, 0x55, 0x22, 0x50}, {0x00, 0x05, 0x03, 0x00, 0x00}, {0x00, 0x1C, 0x22, 0x41, 0x00},  // &'(
    {0x00, 0x41, 0x22, 0x1C, 0x00}, {0x08, 0x2A, 0x1C, 0x2A, 0x08}, {0x08, 0x08, 0x3E, 0x08, 0x08},  // )*+
    {0x00, 0x50, 0x30, 0x00, 0x00}, {0x08, 0x08, 0x08, 0x08, 0x08}, {0x00, 0x60, 0x60, 0x00, 0x00},  // ,-.
    {0x20, 0x10, 0x08, 0x04, 0x02}, {0x3E, 0x51, 0x49, 0x45, 0x3E}, {0x00, 0x42, 0x7F, 0x40, 0x00},  // /01
    {0x42, 0x61, 0x51, 0x49, 0x46}, {0x21, 0x41, 0x45, 0x4B, 0x31}, {0x18, 0x14, 0x12, 0x7F, 0x10},  // 234
    {0x27, 0x45, 0x45, 0x45, 0x39}, {0x3C, 0x4A, 0x49, 0x49, 0x30}, {0x01, 0x71, 0x09, 0x05, 0x03},  // 567
    {0x36, 0x49, 0x49, 0x49, 0x36}, {0x06, 0x49, 0x49, 0x29, 0x1E}, {0x00, 0x36, 0x36, 0x00, 0x00},  // 89:
    {0x00, 0x56, 0x36, 0x00, 0x00}, {0x08, 0x14, 0x22, 0x41, 0x00}, {0x14, 0x14, 0x14, 0x14, 0x14},  // ;<=
    {0x00, 0x41, 0x22, 0x14, 0x08}, {0x02, 0x01, 0x51, 0x09, 0x06}, {0x32, 0x49, 0x79, 0x41, 0x3E},  // >?@
    {0x7E, 0x11, 0x11, 0x11, 0x7E}, {0x7F, 0x49, 0x49, 0x49, 0x36}, {0x3E, 0x41, 0x41, 0x41, 0x22},  // ABC
    {0x7F, 0x41, 0x41, 0x22, 0x1C}, {0x7F, 0x49, 0x49, 0x49, 0x41}, {0x7F, 0x09, 0x09, 0x09, 0x01},  // DEF
    {0x3E, 0x41, 0x49, 0x49, 0x7A}, {0x7F, 0x08, 0x08, 0x08, 0x7F}, {0x00, 0x41, 0x7F, 0x41, 0x00},  // GHI
    {0x20, 0x40, 0x41, 0x3F, 0x01}, {0x7F, 0x08, 0x14, 0x22, 0x41}, {0x7F, 0x40, 0x40, 0x40, 0x40},  // JKL
    {0x7F, 0x02, 0x0C, 0x02, 0x7F}, {0x7F, 0x04, 0x08, 0x10, 0x7F}, {0x3E, 0x41, 0x41, 0x41, 0x3E},  // MNO
    {0x7F, 0x09, 0x09, 0x09, 0x06}, {0x3E, 0x41, 0x51, 0x21, 0x5E}, {0x7F, 0x09, 0x19, 0x29, 0x46},  // PQR
    {0x46, 0x49, 0x49, 0x49, 0x31}, {0x01, 0x01, 0x7F, 0x01, 0x01}, {0x3F, 0x40, 0x40, 0x40, 0x3F},  // STU
    {0x1F, 0x20, 0x40, 0x20, 0x1F}, {0x3F, 0x40, 0x38, 0x40, 0x3F}, {0x63, 0x14, 0x08, 0x14, 0x63},  // VWX
    {0x07, 0x08, 0x70, 0x08, 0x07}, {0x61, 0x51, 0x49, 0x45, 0x43}, {0x00, 0x7F, 0x41, 0x41, 0x00},  // YZ[
    {0x02, 0x04, 0x08, 0x10, 0x20}, {0x00, 0x41, 0x41, 0x7F, 0x00}, {0x04, 0x02, 0x01, 0x02, 0x04},  // \]^
    {0x40, 0x40, 0x40, 0x40, 0x40}, {0x00, 0x01, 0x02, 0x04, 0x00}, {0x20, 0x54, 0x54, 0x54, 0x78},  // _`a
    {0x7F, 0x48, 0x44, 0x44, 0x38}, {0x38, 0x44, 0x44, 0x44, 0x20}, {0x38, 0x44, 0x44, 0x48, 0x7F},  // bcd
    {0x38, 0x54, 0x54, 0x54, 0x18}, {0x08, 0x7E, 0x09, 0x01, 0x02}, {0x0C, 0x52, 0x52, 0x52, 0x3E},  // efg
    {0x7F, 0x08, 0x04, 0x04, 0x78}, {0x00, 0x44, 0x7D, 0x40, 0x00}, {0x20, 0x40, 0x44, 0x3D, 0x00},  // hij
    {0x7F, 0x10, 0x28, 0x44, 0x00}, {0x00, 0x41, 0x7F, 0x40, 0x00}, {0x7C, 0x04, 0x18, 0x04, 0x78},  // klm
    {0x7C, 0x08, 0x04, 0x04, 0x78}, {0x38, 0x44, 0x44, 0x44, 0x38}, {0x7C, 0x14, 0x14, 0x14, 0x08},  // nop
    {0x08, 0x14, 0x14, 0x18, 0x7C}, {0x7C, 0x08, 0x04, 0x04, 0x08}, {0x48, 0x54, 0x54, 0x54, 0x20},  // qrs
    {0x04, 0x3F, 0x44, 0x40, 0x20}, {0x3C, 0x40, 0x40, 0x20, 0x7C}, {0x1C, 0x20, 0x40, 0x20, 0x1C},  // tuv
    {0x3C, 0x40, 0x30, 0x40, 0x3C}, {0x44, 0x28, 0x10, 0x28, 0x44}, {0x0C, 0x50, 0x50, 0x50, 0x3C},  // wxy
    {0x44, 0x64, 0x54, 0x4C, 0x44}, {0x00, 0x08, 0x36, 0x41, 0x00}, {0x00, 0x00, 0x7F, 0x00, 0x00},  // z{|
    {0x00, 0x41, 0x36, 0x08, 0x00}, {0x08, 0x04, 0x08, 0x10, 0x08},                                  // }~
};
constexpr int kGlyphW = 5, kGlyphH = 7, kAdvance = 6;

// ---- raster ----------------------------------------------------------------------------------
const Rgb kWhite{255, 255, 255}, kBlack{0, 0, 0}, kGrid{228, 228, 228}, kText{50, 50, 50}, kFrame{90, 90, 90};

struct Rect {
  int x0, y0, x1, y1;  // inclusive
  bool contains(int x, int y) const { return x >= x0 && x <= x1 && y >= y0 && y <= y1; }
};

void put(RgbImage& img, int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  uint8_t* p = &img.rgb[(static_cast<size_t>(y) * img.width + x) * 3];
  p[0] = c[0], p[1] = c[1], p[2] = c[2];
}

void fill(RgbImage& img, Rect r, Rgb c) {
  for (int y = r.y0; y <= r.y1; ++y)
    for (int x = r.x0; x <= r.x1; ++x) put(img, x, y, c);
}

void hline(RgbImage& img, int x0, int x1, int y, Rgb c) { fill(img, {std::min(x0, x1), y, std::max(x0, x1), y}, c); }
void vline(RgbImage& img, int x, int y0, int y1, Rgb c) { fill(img, {x, std::min(y0, y1), x, std::max(y0, y1)}, c); }

// Bresenham with a 2x2 pen (a clean 2 px line), clipped to `clip`.
void line(RgbImage& img, int x0, int y0, int x1, int y1, Rgb c, const Rect& clip) {
  const int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
  const int dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  for (;;) {
    for (int py = 0; py < 2; ++py)
      for (int px = 0; px < 2; ++px)
        if (clip.contains(x0 + px, y0 + py)) put(img, x0 + px, y0 + py, c);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

// A filled disc of radius 3 with a white rim, so points stand out on top of lines.
void marker(RgbImage& img, int cx, int cy, Rgb c, const Rect& clip) {
  for (int dy = -4; dy <= 4; ++dy)
    for (int dx = -4; dx <= 4; ++dx) {
      const int d2 = dx * dx + dy * dy;
      if (d2 > 17 || !clip.contains(cx + dx, cy + dy)) continue;
      put(img, cx + dx, cy + dy, d2 <= 10 ? c : kWhite);
    }
}

// ---- axes ------------------------------------------------------------------------------------
struct Axis {
  double lo = 0, hi = 1, step = 1;
  std::vector<double> ticks;
};

// Ticks at 1, 2 or 5 x 10^k, about `target` of them. `snap_out` widens [lo, hi] to whole ticks
// (the y axis), otherwise the range stays the data range (the x axis: steps).
Axis nice_axis(double lo, double hi, int target, bool snap_out) {
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 1.0 : std::fabs(lo) * 0.1;
    lo -= pad, hi += pad;
  }
  const double raw = (hi - lo) / std::max(target, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  Axis a;
  a.step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  if (snap_out) {
    lo = std::floor(lo / a.step + 1e-9) * a.step;
    hi = std::ceil(hi / a.step - 1e-9) * a.step;
  }
  a.lo = lo, a.hi = hi;
  // Integer tick indices: repeated `t += step` drifts (0.30000000000000004) and could stall.
  const double first = std::ceil(lo / a.step - 1e-9), last = std::floor(hi / a.step + 1e-9);
  for (double k = first; k <= last && a.ticks.size() < 1000; k += 1) {
    const double t = k * a.step;
    a.ticks.push_back(std::fabs(t) < a.step * 1e-9 ? 0.0 : t);  // no "-0"
  }
  return a;
}

// Tick text with just enough digits to tell neighbouring ticks apart; scientific for tiny or huge
// magnitudes (learning rates: "2e-4").
std::string tick_label(double v, const Axis& a) {
  const double big = std::max(std::fabs(a.lo), std::fabs(a.hi));
  char buf[64];
  if (big >= 1e6 || big < 1e-3) {
    if (v == 0) return "0";
    // The same number of digits on every tick of the axis: enough for the largest to show the step.
    const int digits = std::max(0, static_cast<int>(std::floor(std::log10(big)) - std::floor(std::log10(a.step) + 1e-9)));
    std::snprintf(buf, sizeof buf, "%.*e", std::min(digits, 6), v);
    // "2.0e-04" -> "2.0e-4": shorter labels, same value.
    std::string s = buf;
    const size_t e = s.find('e');
    std::string mant = s.substr(0, e), exp = s.substr(e + 1);
    const char sign = exp[0];
    exp = exp.substr(1);
    while (exp.size() > 1 && exp[0] == '0') exp.erase(0, 1);
    return mant + "e" + (sign == '-' ? "-" : "") + exp;
  }
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(a.step) + 1e-9)));
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

int widest_label(const Axis& a) {
  int w = 0;
  for (double t : a.ticks) w = std::max(w, text_width(tick_label(t, a)));
  return w;
}

// ---- metrics ---------------------------------------------------------------------------------
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

struct Group {
  const char* file;
  const char* title;
  bool (*matches)(const std::string& key);
};

const Group kGroups[] = {
    {"loss.png", "loss", [](const std::string& k) { return ends_with(k, "loss"); }},
    {"accuracy.png", "accuracy / recall / hit rate",
     [](const std::string& k) { return has(k, "accuracy") || has(k, "recall") || has(k, "hit_rate"); }},
    {"alpha.png", "alpha (memory gate)", [](const std::string& k) { return has(k, "alpha"); }},
    {"coverage.png", "coverage (bank entries used)", [](const std::string& k) { return has(k, "coverage"); }},
    {"lr.png", "learning rate", [](const std::string& k) { return k == "lr"; }},
};

}  // namespace

std::vector<MetricSeries> read_metric_series(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ELM_CHECK(in.good(), "cannot read metrics file '", path, "'");
  std::vector<MetricSeries> series;
  std::map<std::pair<std::string, std::string>, size_t> index;
  std::string text;
  int64_t line_no = 0, objects = 0;
  while (std::getline(in, text)) {
    ++line_no;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    // ordered_json keeps the file's key order, so series appear as the trainer wrote them
    // ("loss" before "ce_loss"), not alphabetically.
    nlohmann::ordered_json j;
    try {
      j = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::ordered_json::parse_error& e) {
      fail(path, ":", line_no, ": invalid JSON: ", e.what());
    }
    ELM_CHECK(j.is_object(), path, ":", line_no, ": expected a JSON object, got ", j.type_name());
    const auto step = j.find("step");
    ELM_CHECK(step != j.end() && step->is_number(), path, ":", line_no, ": no numeric \"step\"");
    std::string kind;
    if (const auto k = j.find("kind"); k != j.end()) {
      ELM_CHECK(k->is_string(), path, ":", line_no, ": \"kind\" must be a string");
      kind = k->get<std::string>();
    }
    ++objects;
    const double x = step->get<double>();
    for (const auto& [key, value] : j.items()) {
      if (key == "step" || key == "kind" || !value.is_number()) continue;
      auto [it, added] = index.try_emplace({kind, key}, series.size());
      if (added) series.push_back({kind, key, {}});
      series[it->second].points.emplace_back(x, value.get<double>());
    }
  }
  ELM_CHECK(objects > 0, path, ": no metrics lines");
  return series;
}

Rgb RgbImage::at(int x, int y) const {
  const uint8_t* p = &rgb[(static_cast<size_t>(y) * width + x) * 3];
  return {p[0], p[1], p[2]};
}

Rgb series_colour(size_t i) {
  // Tableau 10: distinct hues that stay distinguishable for most colour-blind readers.
  static const Rgb palette[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                                {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  return palette[i % 10];
}

int text_width(const std::string& text, int scale) {
  return text.empty() ? 0 : (static_cast<int>(text.size()) * kAdvance - 1) * scale;
}

void draw_text(RgbImage& image, int x, int y, const std::string& text, Rgb colour, int scale) {
  for (unsigned char ch : text) {
    const int g = (ch >= 32 && ch <= 126) ? ch - 32 : '?' - 32;
    for (int col = 0; col < kGlyphW; ++col)
      for (int row = 0; row < kGlyphH; ++row)
        if (kFont[g][col] >> row & 1) fill(image, {x + col * scale, y + row * scale, x + (col + 1) * scale - 1,
                                                   y + (row + 1) * scale - 1}, colour);
    x += kAdvance * scale;
  }
}

RgbImage render_chart(const ChartSpec& chart, int width, int height) {
  ELM_CHECK(width >= 200 && height >= 150, "chart '", chart.title, "': image ", width, "x", height, " is too small");
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (const auto& s : chart.series) {
    ELM_CHECK(s.x.size() == s.y.size(), "chart '", chart.title, "': series ", s.name, " has ", s.x.size(), " x and ",
              s.y.size(), " y values");
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      xmin = std::min(xmin, s.x[i]), xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]), ymax = std::max(ymax, s.y[i]);
    }
  }
  ELM_CHECK(xmin <= xmax, "chart '", chart.title, "' has no points to draw");
  ELM_CHECK(std::isfinite(xmax - xmin) && std::isfinite(ymax - ymin) && std::fabs(ymax) < 1e300 &&
                std::fabs(ymin) < 1e300,
            "chart '", chart.title, "': values out of the plottable range");

  RgbImage img{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3, 255)};
  constexpr int kTitleScale = 2, kLabelScale = 2;

  // Layout: title on top, legend on the right, tick labels left of and below the plot area.
  const Axis ya = nice_axis(ymin, ymax, std::max(3, (height - 120) / 60), true);
  int legend_w = 0;
  for (const auto& s : chart.series) legend_w = std::max(legend_w, text_width(s.name));
  legend_w += 40;
  const int title_h = kGlyphH * kTitleScale;
  Rect plot{widest_label(ya) + 18, 16 + title_h + 16, width - legend_w - 30, height - (16 + kGlyphH * kLabelScale + 24)};
  ELM_CHECK(plot.x1 - plot.x0 >= 60 && plot.y1 - plot.y0 >= 40, "chart '", chart.title,
            "': series names too long for a ", width, "x", height, " image");
  // As many x ticks as fit without their labels touching.
  Axis xa;
  for (int target = std::max(2, (plot.x1 - plot.x0) / 80); target >= 1; --target) {
    xa = nice_axis(xmin, xmax, target, false);
    if (static_cast<int>(xa.ticks.size()) * (widest_label(xa) + 16) <= plot.x1 - plot.x0) break;
  }
  auto px = [&](double x) { return plot.x0 + static_cast<int>(std::lround((x - xa.lo) / (xa.hi - xa.lo) * (plot.x1 - plot.x0))); };
  auto py = [&](double y) { return plot.y1 - static_cast<int>(std::lround((y - ya.lo) / (ya.hi - ya.lo) * (plot.y1 - plot.y0))); };

  // Grid and ticks.
  for (double t : ya.ticks) {
    const int y = py(t);
    hline(img, plot.x0, plot.x1, y, kGrid);
    hline(img, plot.x0 - 4, plot.x0, y, kFrame);
    const std::string s = tick_label(t, ya);
    draw_text(img, plot.x0 - 8 - text_width(s), y - kGlyphH / 2, s, kText);
  }
  for (double t : xa.ticks) {
    const int x = px(t);
    vline(img, x, plot.y0, plot.y1, kGrid);
    vline(img, x, plot.y1, plot.y1 + 4, kFrame);
    const std::string s = tick_label(t, xa);
    draw_text(img, x - text_width(s) / 2, plot.y1 + 8, s, kText);
  }
  // Frame.
  hline(img, plot.x0, plot.x1, plot.y0, kFrame);
  hline(img, plot.x0, plot.x1, plot.y1, kFrame);
  vline(img, plot.x0, plot.y0, plot.y1, kFrame);
  vline(img, plot.x1, plot.y0, plot.y1, kFrame);

  // Series: lines in x order, then markers on top.
  const Rect clip{plot.x0 + 1, plot.y0 + 1, plot.x1 - 1, plot.y1 - 1};
  for (size_t si = 0; si < chart.series.size(); ++si) {
    const auto& s = chart.series[si];
    std::vector<std::pair<int, int>> pts;
    std::vector<size_t> order(s.x.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s.x[a] < s.x[b]; });
    for (size_t i : order) {
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) pts.emplace_back(px(s.x[i]), py(s.y[i]));
    }
    const Rgb c = series_colour(si);
    for (size_t i = 1; i < pts.size(); ++i) line(img, pts[i - 1].first, pts[i - 1].second, pts[i].first, pts[i].second, c, clip);
    if (s.markers || pts.size() == 1) {
      for (const auto& [x, y] : pts) marker(img, x, y, c, clip);
    }
  }

  // Title, x label, legend.
  draw_text(img, (width - text_width(chart.title, kTitleScale)) / 2, 14, chart.title, kBlack, kTitleScale);
  draw_text(img, (plot.x0 + plot.x1 - text_width(chart.x_label, kLabelScale)) / 2, plot.y1 + 8 + kGlyphH + 10,
            chart.x_label, kBlack, kLabelScale);
  const int row_h = 16;
  Rect box{plot.x1 + 14, plot.y0, plot.x1 + 14 + legend_w, plot.y0 + 8 + row_h * static_cast<int>(chart.series.size())};
  box.x1 = std::min(box.x1, width - 2);
  hline(img, box.x0, box.x1, box.y0, kGrid);
  hline(img, box.x0, box.x1, box.y1, kGrid);
  vline(img, box.x0, box.y0, box.y1, kGrid);
  vline(img, box.x1, box.y0, box.y1, kGrid);
  const Rect everywhere{0, 0, width - 1, height - 1};
  for (size_t si = 0; si < chart.series.size(); ++si) {
    const int y = box.y0 + 8 + row_h * static_cast<int>(si) + kGlyphH / 2;
    const Rgb c = series_colour(si);
    line(img, box.x0 + 8, y, box.x0 + 28, y, c, everywhere);
    if (chart.series[si].markers) marker(img, box.x0 + 18, y, c, everywhere);
    draw_text(img, box.x0 + 34, y - kGlyphH / 2, chart.series[si].name, kText);
  }
  return img;
}

std::vector<MetricsChart> metrics_charts(const std::string& metrics_jsonl) {
  const std::vector<MetricSeries> raw = read_metric_series(metrics_jsonl);
  std::vector<MetricsChart> charts;
  for (const Group& g : kGroups) {
    MetricsChart mc{g.file, {g.title, "step", {}}};
    for (const MetricSeries& r : raw) {
      if (!g.matches(r.key)) continue;
      PlotSeries s;
      s.name = r.kind.empty() ? r.key : r.kind + "/" + r.key;
      s.markers = r.kind == "eval";
      for (const auto& [x, y] : r.points) s.x.push_back(x), s.y.push_back(y);
      mc.chart.series.push_back(std::move(s));
    }
    if (!mc.chart.series.empty()) charts.push_back(std::move(mc));
  }
  ELM_CHECK(!charts.empty(), metrics_jsonl,
            ": nothing to plot: no numeric field named *loss, *accuracy*, *recall*, *hit_rate*, *alpha*, *coverage* or lr");
  return charts;
}

std::vector<std::string> plot_metrics(const std::string& metrics_jsonl, const std::string& out_dir) {
  const std::vector<MetricsChart> charts = metrics_charts(metrics_jsonl);
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  ELM_CHECK(!ec, "cannot create plot directory '", out_dir, "': ", ec.message());
  std::vector<std::string> written;
  for (const MetricsChart& mc : charts) {
    const RgbImage img = render_chart(mc.chart);
    const std::string path = (std::filesystem::path(out_dir) / mc.file).string();
    io::write_png(path, img.width, img.height, img.rgb);
    written.push_back(path);
  }
  return written;
}

}  // namespace elm::train
