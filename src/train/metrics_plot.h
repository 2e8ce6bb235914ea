#pragma once
// PNG charts of a run's metrics.jsonl, drawn by a small built-in raster renderer (lines, markers,
// axes with ticks, a legend and a 5x7 bitmap font), because the training machines have no plotting
// library. `explicitlm plot-metrics` and tools/plot-metrics call plot_metrics().
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace elm::train {

using Rgb = std::array<uint8_t, 3>;

struct PlotSeries {
  std::string name;          // legend text, e.g. "train/loss"
  std::vector<double> x, y;  // same length; drawn in increasing x
  bool markers = false;      // also mark each point (eval series: few, irregular points)
};

struct ChartSpec {
  std::string title;
  std::string x_label = "step";
  std::vector<PlotSeries> series;
};

struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // row-major, 3 bytes per pixel
  Rgb at(int x, int y) const;
};

// The colour of series i in every chart (10 distinct colours, then repeating).
Rgb series_colour(size_t i);

// Draws the chart: white background, a framed plot area with grid lines and tick values, the title
// on top, the x label below, a legend (colour swatch + name per series) on the right. A chart
// without series or points is an error.
RgbImage render_chart(const ChartSpec& chart, int width = 960, int height = 540);

// Text rendered with the built-in font at `scale` (ASCII 32..126; other bytes draw as '?').
// Exposed for tests: the pixel width of a string, and drawing onto an image.
int text_width(const std::string& text, int scale = 1);
void draw_text(RgbImage& image, int x, int y, const std::string& text, Rgb colour, int scale = 1);

// The numeric fields of a metrics JSONL file as series: one per (kind, key) in order of first
// appearance, points (step, value) in file order. Errors name FILE:LINE for a line that is not a
// JSON object with a numeric "step" (or whose "kind" is not a string), and FILE when it has no line.
struct MetricSeries {
  std::string kind, key;  // kind "" when the lines have none
  std::vector<std::pair<double, double>> points;
};
std::vector<MetricSeries> read_metric_series(const std::string& metrics_jsonl);

// One chart file plot_metrics writes: "loss.png" etc. and its content.
struct MetricsChart {
  std::string file;
  ChartSpec chart;
};

// Reads metrics JSONL (one object per line with a numeric "step" and an optional "kind" such as
// "train" or "eval") and groups its numeric fields into charts, in this order: loss (keys ending in
// "loss"), accuracy (keys containing "accuracy", "recall" or "hit_rate"), alpha ("alpha"), coverage
// ("coverage"), lr ("lr"). Each (kind, key) is one series named "kind/key" (just "key" without a
// kind); eval series get markers. Charts without series are left out. Errors name FILE:LINE for a
// malformed line, and FILE when nothing in it can be plotted.
std::vector<MetricsChart> metrics_charts(const std::string& metrics_jsonl);

// metrics_charts, rendered and written as PNGs (atomically) into out_dir (created). Returns the paths
// written, in chart order.
std::vector<std::string> plot_metrics(const std::string& metrics_jsonl, const std::string& out_dir);

}  // namespace elm::train
