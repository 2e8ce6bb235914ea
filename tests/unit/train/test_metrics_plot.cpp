// train/metrics_plot: keys are grouped into the right charts with one series per (kind, key),
// the renderer draws lines where the data says, text with the bitmap font, and errors name
// FILE:LINE or FILE.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "support/assertions.h"
#include "support/scratch_dir.h"
#include "train/metrics_plot.h"

namespace elm::train {
namespace {

namespace fs = std::filesystem;

const char* kTrainLine =
    R"({"kind":"train","step":STEP,"epoch":0,"lr":0.0002,"loss":2.31,"ce_loss":2.2,"similarity_loss":-0.4,)"
    R"("diversity_loss":0.1,"router_loss":0.0,"grad_norm":0.8,"alpha_mean":0.31,"coverage":0.12,)"
    R"("tokens_per_s":1234.5,"wall_s":12.3})";
const char* kEvalLine =
    R"({"kind":"eval","step":STEP,"lm_loss":1.9,"perplexity":6.7,"accuracy_with_bank":0.93,)"
    R"("accuracy_without_bank":0.05,"recall_at_k":0.95,"hit_rate":0.9,"alpha_mean":0.4,"coverage":0.6})";

std::string with_step(const char* line, int step) {
  std::string s = line;
  s.replace(s.find("STEP"), 4, std::to_string(step));
  return s;
}

fs::path write_metrics(const std::string& name, const std::string& text) {
  const auto path = elm::testing::scratch_dir("metrics-plot", name) / "metrics.jsonl";
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string sample_metrics() {
  std::string text;
  for (int step = 10; step <= 200; step += 10) {
    text += with_step(kTrainLine, step) + "\n";
    if (step % 100 == 0) text += with_step(kEvalLine, step) + "\n";
  }
  return text;
}

std::vector<std::string> names(const ChartSpec& c) {
  std::vector<std::string> out;
  for (const auto& s : c.series) out.push_back(s.name);
  return out;
}

TEST(MetricsPlot, GroupsKeysIntoChartsWithOneSeriesPerKindAndKey) {
  const auto charts = metrics_charts(write_metrics("groups", sample_metrics()).string());
  ASSERT_EQ(charts.size(), 5u);
  EXPECT_EQ(charts[0].file, "loss.png");
  EXPECT_EQ(charts[1].file, "accuracy.png");
  EXPECT_EQ(charts[2].file, "alpha.png");
  EXPECT_EQ(charts[3].file, "coverage.png");
  EXPECT_EQ(charts[4].file, "lr.png");
  // In the order the trainer wrote the keys.
  EXPECT_EQ(names(charts[0].chart), (std::vector<std::string>{"train/loss", "train/ce_loss", "train/similarity_loss",
                                                              "train/diversity_loss", "train/router_loss",
                                                              "eval/lm_loss"}));
  EXPECT_EQ(names(charts[1].chart), (std::vector<std::string>{"eval/accuracy_with_bank", "eval/accuracy_without_bank",
                                                              "eval/recall_at_k", "eval/hit_rate"}));
  EXPECT_EQ(names(charts[2].chart), (std::vector<std::string>{"train/alpha_mean", "eval/alpha_mean"}));
  EXPECT_EQ(names(charts[3].chart), (std::vector<std::string>{"train/coverage", "eval/coverage"}));
  EXPECT_EQ(names(charts[4].chart), (std::vector<std::string>{"train/lr"}));
  for (const auto& c : charts) EXPECT_EQ(c.chart.x_label, "step");

  const PlotSeries& train_loss = charts[0].chart.series[0];
  EXPECT_FALSE(train_loss.markers);
  ASSERT_EQ(train_loss.x.size(), 20u);
  EXPECT_EQ(train_loss.x.front(), 10);
  EXPECT_EQ(train_loss.x.back(), 200);
  EXPECT_DOUBLE_EQ(train_loss.y[3], 2.31);
  const PlotSeries& eval_loss = charts[0].chart.series[5];
  EXPECT_TRUE(eval_loss.markers);
  EXPECT_EQ(eval_loss.x, (std::vector<double>{100, 200}));
  EXPECT_EQ(eval_loss.y, (std::vector<double>{1.9, 1.9}));
}

TEST(MetricsPlot, LinesWithoutKindAreNamedByKeyAndEmptyChartsAreSkipped) {
  const auto path = write_metrics("skip", "{\"step\":0,\"loss\":3}\n\n{\"step\":5,\"loss\":2,\"note\":\"x\"}\n");
  const auto charts = metrics_charts(path.string());
  ASSERT_EQ(charts.size(), 1u);
  EXPECT_EQ(names(charts[0].chart), (std::vector<std::string>{"loss"}));

  const auto out = path.parent_path() / "plots";
  const auto written = plot_metrics(path.string(), out.string());
  ASSERT_EQ(written, (std::vector<std::string>{(out / "loss.png").string()}));
  std::ifstream in(written[0], std::ios::binary);
  char sig[8] = {};
  in.read(sig, 8);
  EXPECT_EQ(std::string(sig, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_FALSE(fs::exists(out / "accuracy.png"));
  EXPECT_FALSE(fs::exists(out / "lr.png"));
}

TEST(MetricsPlot, WritesEveryChartOfARealisticFile) {
  const auto path = write_metrics("all", sample_metrics());
  const auto out = path.parent_path() / "plots";
  const auto written = plot_metrics(path.string(), out.string());
  ASSERT_EQ(written.size(), 5u);
  for (const auto& w : written) {
    EXPECT_GT(fs::file_size(w), 1000u) << w;
    EXPECT_FALSE(fs::exists(w + ".tmp"));
  }
}

TEST(MetricsPlot, MalformedLinesNameFileAndLine) {
  const std::string good = with_step(kTrainLine, 1) + "\n";
  auto msg = [](const fs::path& p) { return elm::testing::error_of([&] { metrics_charts(p.string()); }); };
  auto p = write_metrics("bad-json", good + good + "{\"step\": 3, \"loss\": }\n");
  EXPECT_CONTAINS(msg(p), p.string() + ":3: invalid JSON");
  p = write_metrics("no-step", good + "{\"loss\": 1.0}\n");
  EXPECT_CONTAINS(msg(p), p.string() + ":2: no numeric \"step\"");
  p = write_metrics("not-object", "[1,2]\n");
  EXPECT_CONTAINS(msg(p), p.string() + ":1: expected a JSON object");
  p = write_metrics("bad-kind", "{\"step\":1,\"kind\":3,\"loss\":1}\n");
  EXPECT_CONTAINS(msg(p), p.string() + ":1: \"kind\" must be a string");
}

TEST(MetricsPlot, NothingToPlotNamesTheFile) {
  auto p = write_metrics("nothing", "{\"step\":1,\"epoch\":0,\"wall_s\":3.5}\n");
  auto m = elm::testing::error_of([&] { plot_metrics(p.string(), (p.parent_path() / "plots").string()); });
  EXPECT_CONTAINS(m, p.string());
  EXPECT_CONTAINS(m, "nothing to plot");
  EXPECT_FALSE(fs::exists(p.parent_path() / "plots"));
  p = write_metrics("empty", "");
  EXPECT_CONTAINS(elm::testing::error_of([&] { metrics_charts(p.string()); }), p.string() + ": no metrics lines");
  EXPECT_CONTAINS(elm::testing::error_of([&] { metrics_charts("/nonexistent/metrics.jsonl"); }),
                  "/nonexistent/metrics.jsonl");
}

// Pixels of `c` left of x_max (the legend, on the right, repeats the colours).
std::vector<std::pair<int, int>> pixels_of(const RgbImage& img, Rgb c, int x_max) {
  std::vector<std::pair<int, int>> out;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < x_max; ++x)
      if (img.at(x, y) == c) out.emplace_back(x, y);
  return out;
}

// Covariance of x and y over the pixels: negative when the line rises (image y grows downwards).
double covariance(const std::vector<std::pair<int, int>>& px) {
  double mx = 0, my = 0;
  for (auto [x, y] : px) mx += x, my += y;
  mx /= px.size(), my /= px.size();
  double c = 0;
  for (auto [x, y] : px) c += (x - mx) * (y - my);
  return c / px.size();
}

TEST(MetricsPlot, RendersLinesWhereTheDataIs) {
  ChartSpec chart{"test", "step", {}};
  chart.series.push_back({"up", {0, 50, 100}, {0, 5, 10}, false});
  chart.series.push_back({"down", {0, 100}, {10, 0}, true});
  const RgbImage img = render_chart(chart, 800, 500);
  ASSERT_EQ(img.width, 800);
  ASSERT_EQ(img.height, 500);
  ASSERT_EQ(img.rgb.size(), 800u * 500 * 3);
  EXPECT_EQ(img.at(0, 0), (Rgb{255, 255, 255}));
  EXPECT_EQ(img.at(799, 499), (Rgb{255, 255, 255}));
  const auto up = pixels_of(img, series_colour(0), 600);
  const auto down = pixels_of(img, series_colour(1), 600);
  ASSERT_GT(up.size(), 300u);  // a 2 px line across hundreds of pixels
  ASSERT_GT(down.size(), 300u);
  EXPECT_LT(covariance(up), 0);    // rises left to right
  EXPECT_GT(covariance(down), 0);  // falls
  // Both lines span most of the width: x from the first to the last step.
  auto span = [](const std::vector<std::pair<int, int>>& px) {
    auto [lo, hi] = std::minmax_element(px.begin(), px.end());
    return hi->first - lo->first;
  };
  EXPECT_GT(span(up), 400);
  EXPECT_GT(span(down), 400);
  // The legend repeats both colours right of the plot.
  EXPECT_FALSE(pixels_of(img, series_colour(0), 800).size() == up.size());
}

TEST(MetricsPlot, RendersFlatAndSinglePointSeries) {
  ChartSpec flat{"flat", "step", {{"c", {1, 2, 3}, {0.5, 0.5, 0.5}, false}}};
  const RgbImage a = render_chart(flat, 400, 300);
  const auto px = pixels_of(a, series_colour(0), 300);
  ASSERT_FALSE(px.empty());
  std::set<int> rows;
  for (auto [x, y] : px) rows.insert(y);
  EXPECT_LE(rows.size(), 3u);  // a horizontal 2 px line (legend swatch excluded)

  ChartSpec one{"one", "step", {{"p", {7}, {1.5}, false}}};
  EXPECT_FALSE(pixels_of(render_chart(one, 400, 300), series_colour(0), 300).empty());

  ChartSpec none{"none", "step", {{"p", {}, {}, false}}};
  EXPECT_CONTAINS(elm::testing::error_of([&] { render_chart(none); }), "no points");
  ChartSpec ragged{"ragged", "step", {{"p", {1, 2}, {1}, false}}};
  EXPECT_CONTAINS(elm::testing::error_of([&] { render_chart(ragged); }), "series p");
}

TEST(MetricsPlot, BitmapFontDrawsGlyphs) {
  EXPECT_EQ(text_width(""), 0);
  EXPECT_EQ(text_width("ab"), 11);
  EXPECT_EQ(text_width("ab", 2), 22);
  RgbImage img{20, 10, std::vector<uint8_t>(20 * 10 * 3, 255)};
  draw_text(img, 1, 1, "1", Rgb{0, 0, 0});
  // '1' is a full-height stem in its third column, with a foot across the bottom row.
  for (int y = 1; y < 8; ++y) EXPECT_EQ(img.at(3, y), (Rgb{0, 0, 0})) << y;
  EXPECT_EQ(img.at(2, 7), (Rgb{0, 0, 0}));
  EXPECT_EQ(img.at(4, 7), (Rgb{0, 0, 0}));
  EXPECT_EQ(img.at(1, 4), (Rgb{255, 255, 255}));
  EXPECT_EQ(img.at(3, 8), (Rgb{255, 255, 255}));  // nothing below the 7 rows
  int dark = 0;
  RgbImage img2{40, 10, std::vector<uint8_t>(40 * 10 * 3, 255)};
  draw_text(img2, 0, 0, "e-4_.", Rgb{0, 0, 0});
  for (size_t i = 0; i < img2.rgb.size(); i += 3) dark += img2.rgb[i] == 0;
  EXPECT_GT(dark, 20);
}

TEST(MetricsPlot, SeriesColoursAreDistinct) {
  std::set<Rgb> colours;
  for (size_t i = 0; i < 10; ++i) colours.insert(series_colour(i));
  EXPECT_EQ(colours.size(), 10u);
  EXPECT_FALSE(colours.count(Rgb{255, 255, 255}));
}

}  // namespace
}  // namespace elm::train
