#include "train/run_comparison.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>

#include "core/config.h"
#include "core/error.h"
#include "io/png_writer.h"

namespace elm::train {
namespace {

namespace fs = std::filesystem;

std::string metric_name(const MetricSeries& s) { return s.kind.empty() ? s.key : s.kind + "/" + s.key; }

bool higher_is_better(const std::string& metric) {
  for (const char* part : {"accuracy", "recall", "hit_rate", "coverage", "selection_hit"}) {
    if (metric.find(part) != std::string::npos) return true;
  }
  return false;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string list_of(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

RunRecord read_run(const std::string& dir) {
  RunRecord run;
  run.dir = dir;
  run.name = fs::path(dir).lexically_normal().filename().string();
  if (run.name.empty() || run.name == ".") run.name = fs::path(dir).lexically_normal().parent_path().filename().string();
  const fs::path metrics = fs::path(dir) / "metrics.jsonl";
  ELM_CHECK(fs::is_regular_file(metrics), "run '", dir, "': no metrics file ", metrics.string(),
            " (is it a run directory of explicitlm train?)");
  run.series = read_metric_series(metrics.string());
  for (const MetricSeries& s : run.series) {
    if (s.points.empty()) continue;
    run.final[metric_name(s)] = s.points.back().second;
    if (s.kind == "train") {
      for (const auto& p : s.points) run.last_step = std::max(run.last_step, p.first);
    }
  }
  const fs::path resolved = fs::path(dir) / "config.resolved.toml";
  if (!fs::is_regular_file(resolved)) {
    run.config_note = "no config.resolved.toml";
    return run;
  }
  try {
    Config config;
    config.load_file(resolved.string());
    for (const auto& key : config.schema().keys()) run.config[key.name] = config.value_text(key.name);
  } catch (const Error& e) {
    // A run made by another version of the program may hold keys this one does not know.
    run.config_note = e.what();
  }
  return run;
}

RunComparison compare_runs(const std::vector<std::string>& dirs, const CompareOptions& options) {
  ELM_CHECK(!dirs.empty(), "compare-runs: no run directories given");
  RunComparison c;
  for (const auto& d : dirs) c.runs.push_back(read_run(d));
  // Two runs with the same directory name (a/seed1, b/seed1) are told apart by their paths.
  std::map<std::string, int> name_count;
  for (const auto& r : c.runs) ++name_count[r.name];
  for (auto& r : c.runs) {
    if (name_count[r.name] > 1) r.name = fs::path(r.dir).lexically_normal().string();
  }

  std::set<std::string> available;
  for (const auto& r : c.runs) {
    for (const auto& [m, v] : r.final) available.insert(m);
  }
  auto require = [&](const std::string& metric, const char* what) {
    ELM_CHECK(available.count(metric) > 0, "compare-runs: ", what, " '", metric,
              "' is in none of the runs' metrics.jsonl; the runs have: ", list_of(available));
  };

  c.sort_metric = options.sort_metric;
  require(c.sort_metric, "sort metric");
  ELM_CHECK(options.order.empty() || options.order == "asc" || options.order == "desc",
            "compare-runs: the order must be asc or desc, got '", options.order, "'");
  c.descending = options.order.empty() ? higher_is_better(c.sort_metric) : options.order == "desc";

  if (options.metrics.empty()) {
    if (available.count("train/loss")) c.metrics.push_back("train/loss");
    for (const auto& m : available) {
      if (m.rfind("eval/", 0) == 0 && m != "eval/questions") c.metrics.push_back(m);
    }
    if (c.metrics.empty()) c.metrics.assign(available.begin(), available.end());
  } else {
    for (const auto& m : options.metrics) require(m, "metric");
    c.metrics = options.metrics;
  }

  // Config keys that differ: compared over the runs whose config could be read.
  for (const auto& key : ConfigSchema::builtin().keys()) {
    if (key.name == "run.dir" || key.name == "run.name") continue;
    std::set<std::string> values;
    for (const auto& r : c.runs) {
      if (auto it = r.config.find(key.name); it != r.config.end()) values.insert(it->second);
    }
    if (values.size() > 1) c.config_keys.push_back(key.name);
  }

  std::stable_sort(c.runs.begin(), c.runs.end(), [&](const RunRecord& a, const RunRecord& b) {
    const auto ia = a.final.find(c.sort_metric), ib = b.final.find(c.sort_metric);
    if (ia == a.final.end() || ib == b.final.end()) return ia != a.final.end() && ib == b.final.end();
    return c.descending ? ia->second > ib->second : ia->second < ib->second;
  });
  return c;
}

std::string comparison_table(const RunComparison& c) {
  std::vector<std::string> header = {"#", "run"};
  for (const auto& k : c.config_keys) header.push_back(k);
  header.push_back("step");
  for (const auto& m : c.metrics) header.push_back(m);
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < c.runs.size(); ++i) {
    const RunRecord& r = c.runs[i];
    std::vector<std::string> row = {std::to_string(i + 1), r.name};
    for (const auto& k : c.config_keys) {
      auto it = r.config.find(k);
      row.push_back(it == r.config.end() ? "-" : it->second);
    }
    row.push_back(r.last_step < 0 ? "-" : number(r.last_step));
    for (const auto& m : c.metrics) {
      auto it = r.final.find(m);
      row.push_back(it == r.final.end() ? "-" : number(it->second));
    }
    rows.push_back(std::move(row));
  }
  std::vector<size_t> width(header.size());
  for (size_t j = 0; j < header.size(); ++j) {
    width[j] = header[j].size();
    for (const auto& row : rows) width[j] = std::max(width[j], row[j].size());
  }
  std::ostringstream out;
  out << "runs sorted by " << c.sort_metric << ", " << (c.descending ? "descending" : "ascending") << "\n";
  auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t j = 0; j < cells.size(); ++j) {
      line += cells[j];
      if (j + 1 < cells.size()) line += std::string(width[j] - cells[j].size() + 2, ' ');
    }
    out << line << "\n";
  };
  emit(header);
  for (const auto& row : rows) emit(row);
  return out.str();
}

std::vector<std::string> write_comparison_plots(const RunComparison& c, const std::string& out_dir) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  ELM_CHECK(!ec, "compare-runs: cannot create plot directory '", out_dir, "': ", ec.message());
  std::vector<std::string> written;
  for (const std::string& metric : c.metrics) {
    ChartSpec chart{metric + " by run", "step", {}};
    for (const RunRecord& r : c.runs) {
      for (const MetricSeries& s : r.series) {
        if (metric_name(s) != metric || s.points.empty()) continue;
        PlotSeries p;
        p.name = r.name;
        p.markers = s.kind == "eval";
        for (const auto& [x, y] : s.points) p.x.push_back(x), p.y.push_back(y);
        chart.series.push_back(std::move(p));
      }
    }
    if (chart.series.empty()) continue;
    std::string file = metric;
    std::replace(file.begin(), file.end(), '/', '-');
    const RgbImage img = render_chart(chart);
    const std::string path = (fs::path(out_dir) / (file + ".png")).string();
    io::write_png(path, img.width, img.height, img.rgb);
    written.push_back(path);
  }
  return written;
}

}  // namespace elm::train
