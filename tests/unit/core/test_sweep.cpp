// Sweep files (core/sweep.h): a grid of overrides expanded into runs deterministically, named by
// their values, every run's config resolved up front, and errors that name the file and line.
#include <filesystem>

#include <gtest/gtest.h>

#include "core/config.h"
#include "core/sweep.h"
#include "core_test_util.h"

namespace elm {
namespace {

using test::error_of;

struct SweepFiles {
  test::ScratchDir dir;
  std::string base = dir.write("base.toml", "[training]\nmax_steps = 7\n[run]\nname = \"x\"\n");
  std::string sweep(const std::string& body, const std::string& file = "s.toml") {
    return dir.write(file, "[sweep]\nbase = \"" + base + "\"\nout_dir = \"" + dir.path("out") + "\"\n" + body);
  }
};

TEST(Sweep, TheGridExpandsRowMajorInKeyOrderWithRunsNamedByTheirValues) {
  SweepFiles f;
  // Written in another order: tables are sorted by key, so training.* comes after model.*.
  const auto plan = load_sweep(f.sweep("[fixed]\n\"training.log_interval\" = 2\n"
                                       "[grid]\n\"training.learning_rate\" = [1e-3, 2.5e-3]\n"
                                       "\"model.dropout\" = [0.0, 0.1, 0.2]\n"));
  EXPECT_EQ(plan.name, "s");  // the file name without .toml
  ASSERT_EQ(plan.grid_keys, (std::vector<std::string>{"model.dropout", "training.learning_rate"}));
  ASSERT_EQ(plan.runs.size(), 6u);
  const std::vector<std::string> names = {
      "dropout-0.0_learning_rate-0.001", "dropout-0.0_learning_rate-0.0025", "dropout-0.1_learning_rate-0.001",
      "dropout-0.1_learning_rate-0.0025", "dropout-0.2_learning_rate-0.001", "dropout-0.2_learning_rate-0.0025"};
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(plan.runs[i].index, static_cast<int>(i));
    EXPECT_EQ(plan.runs[i].name, names[i]);
    EXPECT_EQ(plan.runs[i].run_dir, f.dir.path("out") + "/" + names[i]);
  }
  EXPECT_EQ(plan.runs[3].overrides,
            (std::vector<std::string>{"training.log_interval=2", "model.dropout=0.1", "training.learning_rate=0.0025"}));
  EXPECT_EQ(plan.runs[3].grid_values,
            (std::vector<std::pair<std::string, std::string>>{{"model.dropout", "0.1"}, {"training.learning_rate", "0.0025"}}));
  EXPECT_EQ(plan.train_args(plan.runs[3]),
            (std::vector<std::string>{"--config", f.base, "training.log_interval=2", "model.dropout=0.1",
                                      "training.learning_rate=0.0025", "run.dir=" + plan.runs[3].run_dir,
                                      "run.name=s/dropout-0.1_learning_rate-0.0025"}));
}

TEST(Sweep, TrainArgumentsResolveToTheRunsConfig) {
  SweepFiles f;
  const auto plan = load_sweep(f.sweep("[fixed]\ndata.format = \"qa\"\n"  // a dotted key
                                       "\"checkpoint.exclude_from_loading\" = [\"rng\", \"bank\"]\n"
                                       "[grid]\n\"model.dtype\" = [\"float32\", \"bfloat16\"]\n"
                                       "\"memory.normalize_selected\" = [true, false]\n"));
  ASSERT_EQ(plan.runs.size(), 4u);
  // memory.* sorts before model.*: run 2 is the second value of memory.normalize_selected with the
  // first of model.dtype.
  EXPECT_EQ(plan.runs[2].name, "normalize_selected-false_dtype-float32");
  std::vector<std::string> rest;
  const Config c = Config::from_cli(plan.train_args(plan.runs[2]), &rest);
  EXPECT_TRUE(rest.empty());
  EXPECT_EQ(c.get_int("training.max_steps"), 7);  // from the base config
  EXPECT_EQ(c.get_string("data.format"), "qa");
  EXPECT_EQ(c.get_string_list("checkpoint.exclude_from_loading"), (std::vector<std::string>{"rng", "bank"}));
  EXPECT_EQ(c.get_string("model.dtype"), "float32");
  EXPECT_FALSE(c.get_bool("memory.normalize_selected"));
  EXPECT_EQ(c.get_string("run.dir"), plan.runs[2].run_dir);
  EXPECT_EQ(c.get_string("run.name"), "s/normalize_selected-false_dtype-float32");
}

TEST(Sweep, DefaultsAndAGridlessSweep) {
  test::ScratchDir dir;
  const auto plan = load_sweep(dir.write("only-fixed.toml", "[fixed]\n\"training.max_steps\" = 3\n"));
  EXPECT_EQ(plan.name, "only-fixed");
  EXPECT_EQ(plan.out_dir, "runs/only-fixed");
  EXPECT_TRUE(plan.base_configs.empty());
  ASSERT_EQ(plan.runs.size(), 1u);
  EXPECT_EQ(plan.runs[0].name, "base");
  EXPECT_EQ(plan.runs[0].run_dir, "runs/only-fixed/base");
}

TEST(Sweep, KeysSharingANameAcrossSectionsKeepTheirSectionInRunNames) {
  SweepFiles f;
  const auto plan = load_sweep(f.sweep("[grid]\n\"eval.max_new_tokens\" = [2]\n\"generation.max_new_tokens\" = [8]\n"));
  ASSERT_EQ(plan.runs.size(), 1u);
  EXPECT_EQ(plan.runs[0].name, "eval.max_new_tokens-2_generation.max_new_tokens-8");
}

TEST(Sweep, NamePartsKeepOnlyDirectoryFriendlyCharacters) {
  EXPECT_EQ(sweep_name_part("1e-05"), "1e-05");
  EXPECT_EQ(sweep_name_part("a/b c,d"), "a_b_c_d");
  EXPECT_EQ(sweep_name_part(""), "_");
}

TEST(Sweep, ErrorsNameTheFileLineAndKey) {
  SweepFiles f;
  auto error = [&](const std::string& body) { return error_of([&] { load_sweep(f.sweep(body)); }); };
  const std::string s = f.dir.path("s.toml");
  EXPECT_CONTAINS(error("[grid]\n\"training.learnig_rate\" = [1]\n"),
                  s + ":5: [grid]: unknown config key 'training.learnig_rate' (did you mean 'training.learning_rate'?)");
  EXPECT_CONTAINS(error("[fixed]\n\"training.max_steps\" = \"ten\"\n"),
                  "sweep run 0 (base): config override 'training.max_steps=\"ten\"' (" + s + ":5)");
  EXPECT_CONTAINS(error("[grid]\n\"training.learning_rate\" = [1e-3, -1.0]\n"),
                  "sweep run 1 (learning_rate--1.0): config override 'training.learning_rate=-1.0' (" + s + ":5)");
  EXPECT_CONTAINS(error("[grid]\n\"training.learning_rate\" = [1e-3, 0.001]\n"),
                  s + ":5: [grid] training.learning_rate lists 0.001 twice");
  EXPECT_CONTAINS(error("[grid]\n\"training.learning_rate\" = []\n"),
                  s + ":5: [grid] training.learning_rate must be a non-empty array");
  EXPECT_CONTAINS(error("[grid]\n\"training.learning_rate\" = 0.1\n"), "must be a non-empty array");
  EXPECT_CONTAINS(error("[fixed]\n\"training.max_steps\" = 3\n[grid]\n\"training.max_steps\" = [1, 2]\n"),
                  s + ":7: training.max_steps is in [grid] and in [fixed] (" + s + ":5)");
  EXPECT_CONTAINS(error("[fixed]\n\"run.dir\" = \"x\"\n"), s + ":5: [fixed]: run.dir is set by the sweep for each run");
  EXPECT_CONTAINS(error("[grids]\n"), s + ":4: unknown table [grids] in a sweep file");
  EXPECT_CONTAINS(error_of([&] { load_sweep(f.dir.write("b.toml", "[sweep]\nbase = \"nope.toml\"\n")); }),
                  "b.toml: [sweep] base config 'nope.toml' does not exist");
  EXPECT_CONTAINS(error_of([&] { load_sweep(f.dir.write("c.toml", "[sweep]\nflavour = 1\n")); }),
                  "c.toml:2: unknown key 'flavour' in [sweep]");
  EXPECT_CONTAINS(error_of([&] { load_sweep(f.dir.write("d.toml", "[sweep]\nname = \"a b\"\n")); }),
                  "[sweep] name 'a b' may only hold letters, digits");
  EXPECT_CONTAINS(error_of([&] { load_sweep(f.dir.write("e.toml", "[grid]\n\"run.name\" = [\"a b\", \"a,b\"]\n")); }),
                  "run.name is set by the sweep");
  EXPECT_CONTAINS(error_of([&] { load_sweep(f.dir.write("g.toml", "[grid]\n\"memory.layers\" = [\"0 1\", \"0,1\"]\n")); }),
                  "g.toml: runs 0 and 1 would both be named 'layers-0_1'");
  EXPECT_CONTAINS(error_of([&] { load_sweep(f.dir.write("h.toml", "[grid\n")); }), "h.toml:1:");
  EXPECT_CONTAINS(error_of([&] { load_sweep(f.dir.path("missing.toml")); }), "sweep file not found: ");
}

// configs/sweep-*.toml: sweep files, whose paths are relative to the repository root.
TEST(Sweep, EveryShippedSweepExpands) {
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(ELM_SOURCE_DIR);
  int loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator("configs")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("sweep-", 0) != 0 || entry.path().extension() != ".toml") continue;
    SweepPlan plan;
    EXPECT_NO_THROW(plan = load_sweep(entry.path().string())) << name;
    EXPECT_GE(plan.runs.size(), 2u) << name;
    ++loaded;
  }
  std::filesystem::current_path(cwd);
  EXPECT_GE(loaded, 1);
}

}  // namespace
}  // namespace elm
