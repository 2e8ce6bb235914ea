#include "train/checkpointer.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/logging.h"
#include "dist/host_collectives.h"

namespace elm::train {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLatest = "latest";

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// The N of "step-<N>.h5", or -1 for any other name (including "step-<N>.h5.tmp").
int64_t step_of_name(const std::string& name) {
  const std::string prefix = "step-", suffix = ".h5";
  if (name.size() <= prefix.size() + suffix.size()) return -1;
  if (name.compare(0, prefix.size(), prefix) != 0) return -1;
  if (name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return -1;
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (!all_digits(digits) || digits.size() > 18) return -1;
  return std::stoll(digits);
}

// Complete step-<N>.h5 checkpoints of `dir` as (N, path), by N. Incomplete files are skipped.
std::vector<std::pair<int64_t, std::string>> complete_in(const fs::path& dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const int64_t step = step_of_name(entry.path().filename().string());
    if (step < 0 || !entry.is_regular_file(ec)) continue;
    if (is_complete_checkpoint(entry.path().string())) out.emplace_back(step, entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// What DIR/latest names, when it names a complete checkpoint.
std::optional<std::string> latest_pointer(const fs::path& dir) {
  std::ifstream in(dir / kLatest);
  if (!in) return std::nullopt;
  std::string name;
  std::getline(in, name);
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
  if (name.empty()) return std::nullopt;
  const std::string path = fs::path(name).is_absolute() ? name : (dir / name).string();
  if (!is_complete_checkpoint(path)) return std::nullopt;
  return path;
}

// The newest complete checkpoint of `dir`: what `latest` names when that is complete (it is the
// most recently written one, which after a resume from an older step is the branch to follow),
// else the highest step. nullopt when there is none.
std::optional<std::string> newest_in(const fs::path& dir) {
  if (auto p = latest_pointer(dir)) return p;
  const auto all = complete_in(dir);
  if (all.empty()) return std::nullopt;
  return all.back().second;
}

// A directory's newest checkpoint, or that of its checkpoints/ subdirectory (a run directory).
std::optional<std::string> newest_in_dir_or_run(const fs::path& dir) {
  if (auto p = newest_in(dir)) return p;
  return newest_in(dir / "checkpoints");
}

std::string steps_text(const std::vector<std::pair<int64_t, std::string>>& all) {
  if (all.empty()) return "none";
  std::ostringstream out;
  for (size_t i = 0; i < all.size(); ++i) out << (i ? ", " : "") << all[i].first;
  return out.str();
}

}  // namespace

std::string checkpoint_file_name(std::int64_t step) {
  ELM_CHECK(step >= 0, "checkpoint: negative step ", step);
  char buf[40];
  std::snprintf(buf, sizeof buf, "step-%08lld.h5", static_cast<long long>(step));
  return buf;
}

CheckpointOptions CheckpointOptions::from_config(const Config& config, const std::string& run_dir) {
  CheckpointOptions o;
  o.dir = config.get_string("checkpoint.dir");
  if (o.dir.empty() && !run_dir.empty()) o.dir = (fs::path(run_dir) / "checkpoints").string();
  o.interval = config.get_int("checkpoint.interval");
  o.keep_latest_k = config.get_int("checkpoint.keep_latest_k");
  o.resume = config.get_string("checkpoint.resume");
  o.exclude_from_loading = config.get_string_list("checkpoint.exclude_from_loading");
  o.verify = config.get_bool("checkpoint.verify_on_resume");
  return o;
}

bool CheckpointOptions::excluded(const std::string& part) const {
  return std::find(exclude_from_loading.begin(), exclude_from_loading.end(), part) != exclude_from_loading.end();
}

Checkpointer::Checkpointer(CheckpointOptions options) : options_(std::move(options)) {
  ELM_CHECK(options_.keep_latest_k >= 2, "checkpoint.keep_latest_k must be >= 2 (got ", options_.keep_latest_k,
            "): the newest checkpoint may be the one a crash interrupts");
  ELM_CHECK(options_.interval >= 0, "checkpoint.interval must be >= 0 (got ", options_.interval, ")");
  ELM_CHECK(!options_.resume.empty(), "checkpoint.resume is empty (expected auto, none, a step or a path)");
  for (const std::string& part : options_.exclude_from_loading) {
    ELM_CHECK(part == "cursor" || part == "optimizer" || part == "rng" || part == "bank",
              "checkpoint.exclude_from_loading: unknown part '", part,
              "' (expected cursor, optimizer, rng or bank; the parameters always load)");
  }
}

bool Checkpointer::due(std::int64_t step) const {
  return options_.interval > 0 && step > 0 && step % options_.interval == 0;
}

std::string Checkpointer::save(const TrainingState& state, MPI_Comm comm) {
  const bool root = dist::rank_in(comm) == 0;
  std::string error;
  if (options_.dir.empty()) {
    error = "checkpoint: no checkpoint directory; set checkpoint.dir, or run.dir (checkpoints then go to RUN/checkpoints)";
  } else if (root) {
    std::error_code ec;
    fs::create_directories(options_.dir, ec);
    if (ec) error = "checkpoint: cannot create directory '" + options_.dir + "': " + ec.message();
  }
  error = dist::broadcast_text_from_root(comm, error);  // the directory exists before any rank writes
  if (!error.empty()) fail(error);
  const fs::path dir(options_.dir);
  const std::string name = checkpoint_file_name(state.step);
  const std::string path = (dir / name).string();
  last_write_ = write_checkpoint_collective(path, state, comm);
  if (root) {
    try {
      write_file_atomic((dir / kLatest).string(), name + "\n");
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  error = dist::broadcast_text_from_root(comm, error);
  if (!error.empty()) fail(error);
  if (!root) return path;

  // Pruning failures are logged, not thrown: the new checkpoint is already safely published.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (file.size() > 7 && file.compare(file.size() - 7, 7, ".h5.tmp") == 0) {
      std::error_code rm;
      fs::remove(entry.path(), rm);  // a write that a crash interrupted
      if (rm) ELM_LOG(warning) << "checkpoint: cannot remove stale " << entry.path().string() << ": " << rm.message();
    }
  }
  // Retention counts the history that leads to this step. Checkpoints of higher steps belong to a
  // continuation that was abandoned by resuming from an earlier step; they are left alone (not
  // counted, not deleted: `latest` already points past them) rather than evicting this run's own.
  std::vector<std::pair<int64_t, std::string>> history;
  for (auto& entry : complete_in(dir)) {
    if (entry.first <= state.step) history.push_back(std::move(entry));
  }
  const size_t keep = static_cast<size_t>(options_.keep_latest_k);
  for (size_t i = 0; i + keep < history.size(); ++i) {
    std::error_code rm;
    fs::remove(history[i].second, rm);
    if (rm) ELM_LOG(warning) << "checkpoint: cannot remove old " << history[i].second << ": " << rm.message();
  }
  return path;
}

std::vector<std::string> Checkpointer::list() const {
  std::vector<std::string> out;
  if (options_.dir.empty()) return out;
  for (auto& [step, path] : complete_in(options_.dir)) out.push_back(path);
  return out;
}

namespace {

// What is wrong with a checkpoint chosen for a resume ("" = nothing): its checksums when `verify`.
// Version 1 files carry no checksums; they load as before.
std::string damage_of(const std::string& path, bool verify) {
  if (!verify) return is_complete_checkpoint(path) ? "" : "not a complete checkpoint";
  const CheckpointVerification v = verify_checkpoint(path);
  if (v.ok()) return "";
  if (v.format_version == 1 && v.problems.size() == 1) {
    ELM_LOG(info) << "checkpoint " << path << " has format_version 1: no checksums to verify";
    return "";
  }
  std::string text = v.problems.front();
  if (v.problems.size() > 1) text += " (and " + std::to_string(v.problems.size() - 1) + " more problems)";
  return text;
}

// resume=auto and directories: the newest checkpoint that is complete and (with `verify`) intact.
// Newest means what `latest` names, then by step. Step files that are skipped are named in a
// warning, so a fallback is never silent. nullopt when the directory has no step file at all; an
// error when it has some but none is usable (a fresh start would silently lose them).
std::optional<std::string> newest_intact(const fs::path& dir, bool verify, const std::string& what) {
  std::vector<std::string> order;
  if (auto p = latest_pointer(dir)) order.push_back(*p);
  std::vector<std::pair<int64_t, std::string>> files;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const int64_t step = step_of_name(entry.path().filename().string());
      if (step >= 0) files.emplace_back(step, entry.path().string());
    }
  }
  std::sort(files.rbegin(), files.rend());
  for (const auto& f : files) {
    if (std::find(order.begin(), order.end(), f.second) == order.end()) order.push_back(f.second);
  }
  if (order.empty()) return std::nullopt;
  for (const std::string& path : order) {
    const std::string damage = damage_of(path, verify);
    if (damage.empty()) return path;
    ELM_LOG(warning) << "checkpoint " << path << " is skipped: " << damage << "; trying the next older one";
  }
  fail(what, ": none of the ", order.size(), " checkpoint files in ", dir.string(),
       " is complete and intact (see the warnings above); set checkpoint.resume=none to start fresh");
}

}  // namespace

std::optional<std::string> Checkpointer::resolve_resume() const {
  const std::string& r = options_.resume;
  if (r == "none") return std::nullopt;
  if (r == "auto") {
    if (options_.dir.empty()) return std::nullopt;
    return newest_intact(options_.dir, options_.verify, "checkpoint.resume=auto");
  }
  std::string path;
  if (all_digits(r)) {
    ELM_CHECK(!options_.dir.empty(), "checkpoint.resume=", r, ": no checkpoint directory (set checkpoint.dir or run.dir)");
    ELM_CHECK(r.size() <= 18, "checkpoint.resume=", r, ": step number out of range");
    const int64_t step = std::stoll(r);
    path = (fs::path(options_.dir) / checkpoint_file_name(step)).string();
    if (!is_complete_checkpoint(path)) {
      std::error_code ec;
      fail("checkpoint.resume=", r, ": ", path, fs::exists(path, ec) ? " is not a complete checkpoint" : " does not exist",
           "; complete checkpoints in ", options_.dir, " are at steps: ", steps_text(complete_in(options_.dir)));
    }
  } else {
    std::error_code ec;
    if (fs::is_directory(r, ec)) {
      std::optional<std::string> p = newest_intact(r, options_.verify, "checkpoint.resume=" + r);
      if (!p) p = newest_intact(fs::path(r) / "checkpoints", options_.verify, "checkpoint.resume=" + r);
      ELM_CHECK(p.has_value(), "checkpoint.resume=", r, ": no complete checkpoint in this directory or its checkpoints/");
      return p;
    }
    ELM_CHECK(fs::exists(r, ec), "checkpoint.resume=", r,
              ": not auto, none, a step number, or an existing file or directory");
    path = r;
  }
  const std::string damage = damage_of(path, options_.verify);
  ELM_CHECK(damage.empty(), "checkpoint.resume=", r, ": ", path, " cannot be loaded: ", damage,
            " (choose another step, or set checkpoint.verify_on_resume=false to load it anyway)");
  return path;
}

std::string resolve_checkpoint_path(const std::string& file_or_dir) {
  std::error_code ec;
  ELM_CHECK(!file_or_dir.empty(), "checkpoint path is empty");
  ELM_CHECK(fs::exists(file_or_dir, ec), "checkpoint ", file_or_dir, ": no such file or directory");
  if (!fs::is_directory(file_or_dir, ec)) return file_or_dir;
  auto p = newest_in_dir_or_run(file_or_dir);
  ELM_CHECK(p.has_value(), "checkpoint directory ", file_or_dir,
            ": no complete checkpoint (step-<N>.h5) in it or in its checkpoints/ subdirectory");
  return *p;
}

}  // namespace elm::train
