// Checkpoints: the file (bit-exact round trips of every dtype, generator states, optimizer state
// that continues a run exactly, refusal of incomplete / foreign / damaged files, bad names) and the
// directory (names, `latest`, pruning, resume resolution that never picks an incomplete file).
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "core/config.h"
#include "io/hdf5_file.h"
#include "support/assertions.h"
#include "support/scratch_dir.h"
#include "train/checkpoint.h"
#include "train/checkpointer.h"
#include "train/optimizer.h"

namespace elm::train {
namespace {

namespace fs = std::filesystem;
using elm::testing::error_of;

fs::path scratch(const std::string& name) { return elm::testing::scratch_dir("checkpoint", name); }

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Equal names, dtypes, shapes and bits (floats compared as integers of the same width, so that
// -0.0 vs 0.0 or a different NaN payload would be caught).
void expect_bit_equal(const torch::Tensor& a, const torch::Tensor& b, const std::string& what) {
  ASSERT_TRUE(b.defined()) << what;
  EXPECT_EQ(a.scalar_type(), b.scalar_type()) << what;
  EXPECT_EQ(a.sizes(), b.sizes()) << what;
  auto bits = [](torch::Tensor t) {
    t = t.contiguous();
    switch (t.scalar_type()) {
      case torch::kFloat32: return t.view(torch::kInt32);
      case torch::kFloat64: return t.view(torch::kInt64);
      case torch::kBFloat16:
      case torch::kFloat16: return t.view(torch::kInt16);
      default: return t;
    }
  };
  EXPECT_TRUE(torch::equal(bits(a), bits(b))) << what;
}

void expect_same(const NamedTensors& a, const NamedTensors& b, const std::string& group) {
  ASSERT_EQ(a.size(), b.size()) << group;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first) << group << " #" << i;  // order is kept, too
    expect_bit_equal(a[i].second, b[i].second, group + "/" + a[i].first);
  }
}

// A small state whose every field differs from the defaults.
TrainingState sample_state(int64_t step = 100) {
  torch::manual_seed(7);
  TrainingState s;
  s.step = step;
  s.tokens_seen = 987654321012;
  s.stage = "joint";
  s.config_text = "[training]\nstage = \"joint\"  # naïve ✓\n";
  s.cursor.epoch = 2;
  s.cursor.position = 37;
  s.cursor.seed = std::numeric_limits<uint64_t>::max() - 5;  // high bit set: stored as int64 bits
  s.schedule.peak = 3e-4;
  s.schedule.warmup_steps = 10;
  s.schedule.total_steps = 1000;
  s.schedule.min_lr_ratio = 0.05;
  s.rng_state = at::detail::getDefaultCPUGenerator().get_state();
  s.parameters = {{"memory.layers.0.router.keys", torch::randn({4, 3})},
                  {"memory.layers.0.fusion.weight", torch::randn({2, 2}, torch::kFloat64)}};
  s.optimizer = {{"memory.layers.0.router.keys.exp_avg", torch::randn({4, 3})},
                 {"memory.layers.0.router.keys.step", torch::tensor(int64_t{100})}};
  s.bank = {{"tokens", torch::arange(12, torch::kInt32).reshape({4, 3})},
            {"valid", torch::tensor({true, false, true, true})}};
  s.metrics_json = R"({"step":100,"loss":1.25})";
  return s;
}

// ---------------------------------------------------------------------------------------------
// The file

TEST(Checkpoint, RoundTripsEveryDtypeBitExactly) {
  const auto dir = scratch("dtypes");
  const std::string path = (dir / "c.h5").string();
  torch::manual_seed(1);
  TrainingState s;
  auto f32 = torch::randn({2, 3});
  f32[0][0] = -0.0f;
  f32[0][1] = std::numeric_limits<float>::infinity();
  f32[0][2] = std::numeric_limits<float>::denorm_min();
  s.parameters = {
      {"f32", f32},
      {"f64", torch::randn({3}, torch::kFloat64)},
      {"bf16", torch::randn({2, 2, 2}).to(torch::kBFloat16)},
      {"f16", torch::randn({5}).to(torch::kFloat16)},
      {"i64", torch::tensor({int64_t{1} << 62, int64_t{-3}})},
      {"i32", torch::tensor({7, -8, 2147483647}, torch::kInt32)},
      {"i8", torch::tensor({-128, 127}, torch::kInt8)},
      {"u8", torch::tensor({0, 255}, torch::kUInt8)},
      {"bool", torch::tensor({true, false, true})},
      {"empty", torch::zeros({0, 3})},
      {"transposed", torch::arange(6, torch::kFloat32).reshape({2, 3}).t()},  // not contiguous
      {"scalar_f32", torch::tensor(2.5f)},
  };
  s.optimizer = {{"w.step", torch::tensor(int64_t{42})}, {"w.exp_avg", torch::randn({3}).to(torch::kBFloat16)}};
  write_checkpoint(path, s);
  const TrainingState r = read_checkpoint(path);
  expect_same(s.parameters, r.parameters, "parameters");
  expect_same(s.optimizer, r.optimizer, "optimizer");
  EXPECT_EQ(r.optimizer[0].second.dim(), 0);  // 0-dim stays 0-dim, not [1]
  EXPECT_EQ(r.optimizer[0].second.item<int64_t>(), 42);
  EXPECT_EQ(r.parameters[11].second.dim(), 0);
  EXPECT_EQ(r.parameters[2].second.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(std::signbit(r.parameters[0].second[0][0].item<float>()));
  // bf16 is stored as uint16 bits that h5dump shows, with the dtype that restores it.
  io::H5File f = io::H5File::open_read(path);
  EXPECT_EQ(f.dataset_info("/parameters/bf16").kind, io::H5Kind::UInt16);
  EXPECT_EQ(f.attribute_string("dtype", "/parameters/bf16"), "bfloat16");
  EXPECT_EQ(f.dataset_info("/parameters/i64").kind, io::H5Kind::Int64);
  EXPECT_EQ(f.dataset_info("/optimizer/w.step").shape, std::vector<int64_t>{});
}

TEST(Checkpoint, RoundTripsScalarsTextCursorScheduleBankAndMetrics) {
  const auto dir = scratch("fields");
  const std::string path = (dir / "c.h5").string();
  const TrainingState s = sample_state(123);
  write_checkpoint(path, s);
  EXPECT_TRUE(is_complete_checkpoint(path));
  EXPECT_EQ(checkpoint_step(path), 123);
  const TrainingState r = read_checkpoint(path);
  EXPECT_EQ(r.step, 123);
  EXPECT_EQ(r.tokens_seen, 987654321012);
  EXPECT_EQ(r.stage, "joint");
  EXPECT_EQ(r.config_text, s.config_text);
  EXPECT_EQ(r.cursor, s.cursor);
  EXPECT_EQ(r.cursor.seed, std::numeric_limits<uint64_t>::max() - 5);
  EXPECT_EQ(r.schedule.peak, s.schedule.peak);
  EXPECT_EQ(r.schedule.warmup_steps, 10);
  EXPECT_EQ(r.schedule.total_steps, 1000);
  EXPECT_EQ(r.schedule.min_lr_ratio, 0.05);
  EXPECT_EQ(r.metrics_json, s.metrics_json);
  expect_same(s.bank, r.bank, "bank");
  expect_bit_equal(s.rng_state, r.rng_state, "rng");
  EXPECT_FALSE(r.selection_rng_state.defined());  // not saved -> undefined

  io::H5File f = io::H5File::open_read(path);
  EXPECT_EQ(f.attribute_string("format"), "explicitlm-checkpoint");
  EXPECT_EQ(f.attribute_int("format_version"), kCheckpointFormatVersion);
  EXPECT_EQ(f.attribute_int("world_size"), 1);
  EXPECT_EQ(f.attribute_int("complete"), 1);
  EXPECT_EQ(f.attribute_string("created").size(), 20u);  // 2026-01-02T03:04:05Z
}

TEST(Checkpoint, OptionalPartsAbsentComeBackEmpty) {
  const auto dir = scratch("optional");
  const std::string path = (dir / "c.h5").string();
  TrainingState s = sample_state();
  s.bank.clear();
  s.metrics_json.clear();
  s.rng_state = torch::Tensor();
  write_checkpoint(path, s);
  const TrainingState r = read_checkpoint(path);
  EXPECT_TRUE(r.bank.empty());
  EXPECT_TRUE(r.metrics_json.empty());
  EXPECT_FALSE(r.rng_state.defined());
  EXPECT_EQ(r.parameters.size(), 2u);
  io::H5File f = io::H5File::open_read(path);
  EXPECT_FALSE(f.has_group("bank"));
  EXPECT_FALSE(f.has_dataset("metrics"));
}

TEST(Checkpoint, GeneratorStateRestoresTheSameRandomNumbers) {
  const auto dir = scratch("rng");
  const std::string path = (dir / "c.h5").string();
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1234);
  at::Generator sel = at::make_generator<at::CPUGeneratorImpl>(99);
  (void)torch::randn({7}, gen);  // advance past the seed state
  TrainingState s = sample_state();
  s.rng_state = gen.get_state();
  s.selection_rng_state = sel.get_state();
  const auto expected = torch::randn({16}, gen);
  const auto expected_sel = torch::rand({16}, sel);
  write_checkpoint(path, s);

  const TrainingState r = read_checkpoint(path);
  at::Generator g2 = at::make_generator<at::CPUGeneratorImpl>(1);
  at::Generator s2 = at::make_generator<at::CPUGeneratorImpl>(2);
  EXPECT_FALSE(torch::equal(torch::randn({16}, g2), expected));  // a different seed differs...
  g2.set_state(r.rng_state);
  s2.set_state(r.selection_rng_state);
  EXPECT_TRUE(torch::equal(torch::randn({16}, g2), expected));  // ...the restored state does not
  EXPECT_TRUE(torch::equal(torch::rand({16}, s2), expected_sel));
}

// Three toy parameters of mixed shape; gradients depend on the parameters and the step.
struct Toy {
  torch::Tensor a, b;
  NamedTensors named() const { return {{"memory.a", a}, {"memory.b", b}}; }
  void grads(int step) {
    a.mutable_grad() = torch::sin(a.detach() * (step + 1));
    b.mutable_grad() = torch::cos(b.detach() + step) * 0.5;
  }
};

AdamWConfig toy_config() {
  AdamWConfig c;
  c.lr = 0.05;
  c.weight_decay = 0.1;
  return c;
}

TEST(Checkpoint, OptimizerStateThroughAFileContinuesBitExactly) {
  const auto dir = scratch("optimizer");
  const std::string path = (dir / "c.h5").string();
  torch::manual_seed(3);
  const auto a0 = torch::randn({3, 2}), b0 = torch::randn({4});
  auto fresh = [&](torch::Tensor a, torch::Tensor b) {
    return Toy{a.detach().clone().set_requires_grad(true), b.detach().clone().set_requires_grad(true)};
  };

  Toy u = fresh(a0, b0);  // uninterrupted: 4 steps
  Optimizer ou(u.named(), toy_config());
  for (int s = 0; s < 4; ++s) {
    ou.zero_grad();
    u.grads(s);
    ou.step();
  }

  {  // interrupted: 3 steps, then a checkpoint
    Toy i = fresh(a0, b0);
    Optimizer oi(i.named(), toy_config());
    for (int s = 0; s < 3; ++s) {
      oi.zero_grad();
      i.grads(s);
      oi.step();
    }
    TrainingState st;
    st.step = 3;
    st.parameters = i.named();
    st.optimizer = oi.export_state();
    write_checkpoint(path, st);
  }

  const TrainingState r = read_checkpoint(path);
  ASSERT_EQ(r.parameters.size(), 2u);
  ASSERT_EQ(r.optimizer.size(), 6u);
  Toy c = fresh(r.parameters[0].second, r.parameters[1].second);
  Optimizer oc(c.named(), toy_config());
  oc.import_state(r.optimizer);
  oc.zero_grad();
  c.grads(3);
  oc.step();
  EXPECT_TRUE(torch::equal(c.a, u.a));
  EXPECT_TRUE(torch::equal(c.b, u.b));

  // Without the optimizer state the continued run differs (the check above is not vacuous).
  Toy n = fresh(r.parameters[0].second, r.parameters[1].second);
  Optimizer on(n.named(), toy_config());
  n.grads(3);
  on.step();
  EXPECT_FALSE(torch::equal(n.a, u.a));
}

TEST(Checkpoint, RefusesAFileWithoutTheCompleteMarker) {
  const auto dir = scratch("marker");
  const std::string path = (dir / "c.h5").string();
  write_checkpoint(path, sample_state());
  {
    io::H5File f = io::H5File::open_write(path);
    f.set_attribute("complete", int64_t{0});  // as if the last write had not happened
  }
  const std::string msg = error_of([&] { read_checkpoint(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'complete' marker is missing");
  EXPECT_FALSE(is_complete_checkpoint(path));

  const std::string bare = (dir / "bare.h5").string();
  {
    io::H5File f = io::H5File::create(bare);
    f.set_attribute("format", "explicitlm-checkpoint");
    f.set_attribute("format_version", int64_t{1});
  }
  EXPECT_CONTAINS(error_of([&] { read_checkpoint(bare); }), "'complete' marker is missing");
}

TEST(Checkpoint, RefusesAnUnknownFormatVersionOrAForeignFile) {
  const auto dir = scratch("version");
  const std::string path = (dir / "c.h5").string();
  write_checkpoint(path, sample_state());
  {
    io::H5File f = io::H5File::open_write(path);
    f.set_attribute("format_version", int64_t{3});
  }
  const std::string msg = error_of([&] { read_checkpoint(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "format_version 3 is not supported");
  EXPECT_FALSE(is_complete_checkpoint(path));

  const std::string bank = (dir / "bank.h5").string();
  {
    io::H5File f = io::H5File::create(bank);
    f.set_attribute("format", "explicitlm-bank");
    f.set_attribute("complete", int64_t{1});
  }
  EXPECT_CONTAINS(error_of([&] { read_checkpoint(bank); }), "not an ExplicitLM checkpoint");
}

TEST(Checkpoint, AMissingDatasetIsNamed) {
  const auto dir = scratch("missing");
  const std::string path = (dir / "c.h5").string();
  {
    io::H5File f = io::H5File::create(path);
    f.set_attribute("format", "explicitlm-checkpoint");
    f.set_attribute("format_version", int64_t{1});
    f.set_attribute("step", int64_t{5});
    f.set_attribute("complete", int64_t{1});
  }
  const std::string msg = error_of([&] { read_checkpoint(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'/config'");
}

TEST(Checkpoint, TruncatedOrGarbageFilesGiveAnErrorNotACrash) {
  const auto dir = scratch("damaged");
  const std::string good = (dir / "good.h5").string();
  write_checkpoint(good, sample_state());
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_GT(bytes.size(), 1000u);
  int n = 0;
  for (size_t keep : {bytes.size() / 2, size_t{600}, size_t{8}, size_t{0}}) {
    const std::string path = (dir / ("cut" + std::to_string(n++) + ".h5")).string();
    write_bytes(path, bytes.substr(0, keep));
    EXPECT_CONTAINS(error_of([&] { read_checkpoint(path); }), path) << "kept " << keep << " bytes";
    EXPECT_FALSE(is_complete_checkpoint(path));
  }
  const std::string garbage = (dir / "garbage.h5").string();
  write_bytes(garbage, std::string(4096, '\x5a'));
  EXPECT_CONTAINS(error_of([&] { read_checkpoint(garbage); }), "not an HDF5 file");
  const std::string absent = (dir / "absent.h5").string();
  EXPECT_CONTAINS(error_of([&] { read_checkpoint(absent); }), "no such file");
}

TEST(Checkpoint, RefusesBadTensorNamesAndTypesLeavingNothingBehind) {
  const auto dir = scratch("names");
  const std::string path = (dir / "c.h5").string();
  auto with_params = [](NamedTensors p) {
    TrainingState s = sample_state();
    s.parameters = std::move(p);
    return s;
  };
  const auto t = torch::zeros({2});
  EXPECT_CONTAINS(error_of([&] { write_checkpoint(path, with_params({{"layers/0.w", t}})); }),
                  "tensor name 'layers/0.w' in parameters contains '/'");
  EXPECT_CONTAINS(error_of([&] { write_checkpoint(path, with_params({{"w", t}, {"w", t}})); }), "'w' appears twice");
  EXPECT_CONTAINS(error_of([&] { write_checkpoint(path, with_params({{"", t}})); }), "empty name");
  EXPECT_CONTAINS(error_of([&] { write_checkpoint(path, with_params({{"u", torch::Tensor()}})); }),
                  "tensor 'u' in parameters is undefined");
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  // A failure in the middle of a write keeps the previous file and removes the .tmp.
  write_checkpoint(path, sample_state(7));
  const std::string msg =
      error_of([&] { write_checkpoint(path, with_params({{"ok", t}, {"i16", torch::zeros({2}, torch::kInt16)}})); });
  EXPECT_CONTAINS(msg, "tensor 'i16' in parameters has dtype Short");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_EQ(read_checkpoint(path).step, 7);
}

TEST(Checkpoint, RewritingAPathReplacesItAtomically) {
  const auto dir = scratch("rewrite");
  const std::string path = (dir / "c.h5").string();
  write_checkpoint(path, sample_state(1));
  write_checkpoint(path, sample_state(2));
  EXPECT_EQ(read_checkpoint(path).step, 2);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

// ---------------------------------------------------------------------------------------------
// The directory

CheckpointOptions options_in(const fs::path& dir, int64_t keep = 2, const std::string& resume = "auto") {
  CheckpointOptions o;
  o.dir = dir.string();
  o.keep_latest_k = keep;
  o.resume = resume;
  return o;
}

std::vector<std::string> names_of(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) out.push_back(fs::path(p).filename().string());
  return out;
}

// A step file that looks like a checkpoint whose write was interrupted before the marker.
void write_incomplete(const fs::path& path) {
  io::H5File f = io::H5File::create(path.string());
  f.set_attribute("format", "explicitlm-checkpoint");
  f.set_attribute("format_version", int64_t{1});
  f.set_attribute("step", int64_t{30});
}

TEST(Checkpointer, NamesFilesAndKnowsWhenACheckpointIsDue) {
  EXPECT_EQ(checkpoint_file_name(100), "step-00000100.h5");
  EXPECT_EQ(checkpoint_file_name(123456789), "step-123456789.h5");
  CheckpointOptions o;
  o.interval = 50;
  Checkpointer c(o);
  EXPECT_TRUE(c.due(50));
  EXPECT_TRUE(c.due(100));
  EXPECT_FALSE(c.due(75));
  EXPECT_FALSE(c.due(0));
  o.interval = 0;
  EXPECT_FALSE(Checkpointer(o).due(50));
  o.keep_latest_k = 1;
  EXPECT_CONTAINS(error_of([&] { Checkpointer bad(o); }), "checkpoint.keep_latest_k must be >= 2");
}

TEST(Checkpointer, SaveWritesLatestAndPrunesToKeepLatestK) {
  const auto dir = scratch("prune") / "checkpoints";  // created by save()
  Checkpointer c(options_in(dir, 2));
  EXPECT_TRUE(c.list().empty());
  for (int64_t step : {10, 20, 30}) {
    const std::string p = c.save(sample_state(step));
    EXPECT_EQ(p, (dir / checkpoint_file_name(step)).string());
    EXPECT_EQ(read_text(dir / "latest"), checkpoint_file_name(step) + "\n");
  }
  EXPECT_EQ(names_of(c.list()), (std::vector<std::string>{"step-00000020.h5", "step-00000030.h5"}));
  EXPECT_FALSE(fs::exists(dir / "step-00000010.h5"));

  Checkpointer c3(options_in(dir, 3));
  c3.save(sample_state(40));
  c3.save(sample_state(50));
  EXPECT_EQ(names_of(c3.list()),
            (std::vector<std::string>{"step-00000030.h5", "step-00000040.h5", "step-00000050.h5"}));
  EXPECT_EQ(read_checkpoint(c3.list().back()).step, 50);
}

TEST(Checkpointer, SaveKeepsTheNewFileEvenWhenOlderStepsAreHigher) {
  const auto dir = scratch("branch");
  Checkpointer c(options_in(dir, 2));
  c.save(sample_state(200));
  c.save(sample_state(300));
  c.save(sample_state(150));  // resumed from an earlier step: this is now the live branch
  EXPECT_TRUE(fs::exists(dir / "step-00000150.h5"));
  EXPECT_EQ(read_text(dir / "latest"), "step-00000150.h5\n");
  EXPECT_EQ(*c.resolve_resume(), (dir / "step-00000150.h5").string());
  c.save(sample_state(160));
  c.save(sample_state(170));  // the live branch keeps its newest 2; the abandoned steps stay
  EXPECT_EQ(names_of(c.list()), (std::vector<std::string>{"step-00000160.h5", "step-00000170.h5",
                                                          "step-00000200.h5", "step-00000300.h5"}));
  EXPECT_EQ(*c.resolve_resume(), (dir / "step-00000170.h5").string());
}

TEST(Checkpointer, SaveRemovesStaleTmpFilesAndFailsClearlyWithoutADirectory) {
  const auto dir = scratch("stale");
  write_bytes(dir / "step-00000099.h5.tmp", "half a checkpoint");
  Checkpointer c(options_in(dir));
  c.save(sample_state(5));
  EXPECT_FALSE(fs::exists(dir / "step-00000099.h5.tmp"));
  EXPECT_TRUE(fs::exists(dir / "step-00000005.h5"));

  Checkpointer none(CheckpointOptions{});
  EXPECT_CONTAINS(error_of([&] { none.save(sample_state(1)); }), "set checkpoint.dir");
  EXPECT_FALSE(none.resolve_resume().has_value());  // auto with no directory: start fresh
}

TEST(Checkpointer, ResumeNoneAndAutoOnAnEmptyDirectory) {
  const auto dir = scratch("none");
  EXPECT_FALSE(Checkpointer(options_in(dir / "absent")).resolve_resume().has_value());
  EXPECT_FALSE(Checkpointer(options_in(dir)).resolve_resume().has_value());
  Checkpointer(options_in(dir)).save(sample_state(10));
  EXPECT_FALSE(Checkpointer(options_in(dir, 2, "none")).resolve_resume().has_value());
  EXPECT_EQ(*Checkpointer(options_in(dir)).resolve_resume(), (dir / "step-00000010.h5").string());
}

TEST(Checkpointer, ResumeAutoIgnoresIncompleteFilesAndStaleTmp) {
  const auto dir = scratch("auto");
  Checkpointer c(options_in(dir, 3));
  c.save(sample_state(10));
  c.save(sample_state(20));
  write_incomplete(dir / "step-00000030.h5");
  write_bytes(dir / "step-00000040.h5.tmp", "crashed");
  write_bytes(dir / "latest", "step-00000030.h5\n");  // even when `latest` names it
  EXPECT_EQ(*c.resolve_resume(), (dir / "step-00000020.h5").string());
  EXPECT_EQ(names_of(c.list()), (std::vector<std::string>{"step-00000010.h5", "step-00000020.h5"}));

  fs::remove(dir / "latest");  // no pointer at all: the highest complete step
  EXPECT_EQ(*c.resolve_resume(), (dir / "step-00000020.h5").string());
  write_bytes(dir / "latest", "step-00000010.h5\n");  // a valid pointer is followed
  EXPECT_EQ(*c.resolve_resume(), (dir / "step-00000010.h5").string());
}

TEST(Checkpointer, ResumeByStepNumber) {
  const auto dir = scratch("by-step");
  Checkpointer(options_in(dir, 3)).save(sample_state(10));
  Checkpointer(options_in(dir, 3)).save(sample_state(20));
  write_incomplete(dir / "step-00000030.h5");
  EXPECT_EQ(*Checkpointer(options_in(dir, 2, "10")).resolve_resume(), (dir / "step-00000010.h5").string());
  const std::string absent = error_of([&] { Checkpointer(options_in(dir, 2, "15")).resolve_resume(); });
  EXPECT_CONTAINS(absent, "step-00000015.h5 does not exist");
  EXPECT_CONTAINS(absent, "at steps: 10, 20");
  EXPECT_CONTAINS(error_of([&] { Checkpointer(options_in(dir, 2, "30")).resolve_resume(); }),
                  "is not a complete checkpoint");
}

TEST(Checkpointer, ResumeByFileOrDirectoryPath) {
  const auto run = scratch("by-path");
  const auto dir = run / "checkpoints";
  Checkpointer c(options_in(dir));
  c.save(sample_state(10));
  c.save(sample_state(20));
  const auto other = scratch("by-path-other");  // the resuming run has its own directory
  auto resume = [&](const std::string& r) { return Checkpointer(options_in(other, 2, r)).resolve_resume(); };
  const std::string file = (dir / "step-00000010.h5").string();
  EXPECT_EQ(*resume(file), file);
  EXPECT_EQ(*resume(dir.string()), (dir / "step-00000020.h5").string());
  EXPECT_EQ(*resume(run.string()), (dir / "step-00000020.h5").string());  // a run directory
  EXPECT_CONTAINS(error_of([&] { resume((run / "nope.h5").string()); }), "nope.h5: not auto, none");
  const auto empty = scratch("by-path-empty");
  EXPECT_CONTAINS(error_of([&] { resume(empty.string()); }), "no complete checkpoint");
}

TEST(Checkpointer, ResolveCheckpointPathForInitFrom) {
  const auto run = scratch("init-from");
  Checkpointer c(options_in(run / "checkpoints"));
  c.save(sample_state(10));
  c.save(sample_state(20));
  write_incomplete(run / "checkpoints" / "step-00000030.h5");
  fs::remove(run / "checkpoints" / "latest");  // scanning alone must still skip the incomplete one
  const std::string newest = (run / "checkpoints" / "step-00000020.h5").string();
  EXPECT_EQ(resolve_checkpoint_path(run.string()), newest);
  EXPECT_EQ(resolve_checkpoint_path((run / "checkpoints").string()), newest);
  const std::string file = (run / "checkpoints" / "step-00000010.h5").string();
  EXPECT_EQ(resolve_checkpoint_path(file), file);
  const auto empty = scratch("init-from-empty");
  const std::string msg = error_of([&] { resolve_checkpoint_path(empty.string()); });
  EXPECT_CONTAINS(msg, empty.string());
  EXPECT_CONTAINS(msg, "no complete checkpoint");
  EXPECT_CONTAINS(error_of([&] { resolve_checkpoint_path((empty / "x").string()); }), "no such file or directory");
}

TEST(CheckpointOptions, FromConfigDefaultsToTheRunDirectory) {
  Config cfg;
  CheckpointOptions o = CheckpointOptions::from_config(cfg, "/runs/a");
  EXPECT_EQ(o.dir, "/runs/a/checkpoints");
  EXPECT_EQ(o.interval, 0);
  EXPECT_EQ(o.keep_latest_k, 2);
  EXPECT_EQ(o.resume, "auto");
  EXPECT_EQ(CheckpointOptions::from_config(cfg, "").dir, "");

  cfg.apply_override("checkpoint.dir=/elsewhere");
  cfg.apply_override("checkpoint.interval=50");
  cfg.apply_override("checkpoint.keep_latest_k=4");
  cfg.apply_override("checkpoint.resume=none");
  o = CheckpointOptions::from_config(cfg, "/runs/a");
  EXPECT_EQ(o.dir, "/elsewhere");
  EXPECT_EQ(o.interval, 50);
  EXPECT_EQ(o.keep_latest_k, 4);
  EXPECT_EQ(o.resume, "none");
}

// ---------------------------------------------------------------------------------------------
// Checksums, partial reads, damage

// Flips one byte of the file at the first place where `pattern` occurs (a tensor's raw data).
void flip_byte_of(const fs::path& file, const std::string& pattern) {
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  in.close();
  const auto at = bytes.find(pattern);
  ASSERT_NE(at, std::string::npos) << "pattern not found in " << file;
  bytes[at + pattern.size() / 2] ^= 0x10;
  write_bytes(file, bytes);
}

// A float32 tensor whose bytes are easy to find in the file.
torch::Tensor marked_tensor() {
  return torch::full({4, 4}, 1234.5f);
}
std::string marked_bytes() {
  const float v = 1234.5f;
  std::string one(reinterpret_cast<const char*>(&v), sizeof v);
  return one + one + one + one;
}

TEST(Checkpoint, VerifyRecomputesEveryChecksumAndNamesADamagedDataset) {
  const auto dir = scratch("verify");
  const fs::path path = dir / "c.h5";
  TrainingState s = sample_state();
  s.parameters.emplace_back("marked", marked_tensor());
  write_checkpoint(path.string(), s);
  CheckpointVerification v = verify_checkpoint(path.string());
  EXPECT_TRUE(v.ok()) << (v.problems.empty() ? "" : v.problems[0]);
  EXPECT_EQ(v.step, 100);
  EXPECT_EQ(v.format_version, kCheckpointFormatVersion);
  // config, cursor, metrics, 4 schedule values, rng, 3 parameters, 2 optimizer entries, 2 bank
  EXPECT_EQ(v.datasets, 15);
  io::H5File f = io::H5File::open_read(path.string());
  EXPECT_EQ(f.attribute_string("checksum", "/parameters/marked").rfind("xor64:", 0), 0u);
  f.close();

  flip_byte_of(path, marked_bytes());
  v = verify_checkpoint(path.string());
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_CONTAINS(v.problems[0], "/parameters/marked");
  EXPECT_CONTAINS(v.problems[0], "checksum");
  // The damage is invisible to a plain read: that is what the checksums are for.
  EXPECT_NO_THROW(read_checkpoint(path.string()));

  const fs::path cut = dir / "cut.h5";
  {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    write_bytes(cut, bytes.substr(0, bytes.size() - 100));
  }
  v = verify_checkpoint(cut.string());
  ASSERT_FALSE(v.ok());
  EXPECT_CONTAINS(v.problems[0], cut.string());
  EXPECT_FALSE(verify_checkpoint((dir / "absent.h5").string()).ok());
}

TEST(Checkpoint, APartialReadTakesTheChosenParametersAndBankRows) {
  const auto dir = scratch("part");
  const std::string path = (dir / "c.h5").string();
  TrainingState s = sample_state();
  s.bank = {{"tokens", torch::arange(30, torch::kInt32).reshape({10, 3})},
            {"valid", torch::tensor({true, false, true, true, false, true, true, true, false, true})}};
  s.rng_state = torch::arange(16, torch::kUInt8);
  write_checkpoint(path, s);
  CheckpointSelection sel;
  sel.parameter = [](const std::string& n) { return n == "memory.layers.0.router.keys"; };
  sel.bank_rows = CheckpointSelection::Rows{1, 3, 3};  // a cyclic shard of 3 ranks: rows 1, 4, 7
  const TrainingState r = read_checkpoint_part(path, sel);
  ASSERT_EQ(r.parameters.size(), 1u);
  EXPECT_EQ(r.parameters[0].first, "memory.layers.0.router.keys");
  ASSERT_EQ(r.optimizer.size(), 2u);  // the entries of that parameter only
  ASSERT_EQ(r.bank.size(), 2u);
  EXPECT_TRUE(torch::equal(r.bank[0].second, s.bank[0].second.index_select(0, torch::tensor({1, 4, 7}))));
  EXPECT_TRUE(torch::equal(r.bank[1].second, s.bank[1].second.index_select(0, torch::tensor({1, 4, 7}))));
  EXPECT_EQ(r.bank_rows.total_rows, 10);
  EXPECT_TRUE(torch::equal(r.rng_state, s.rng_state));
  ASSERT_EQ(r.rng_states.dim(), 2);  // every rank's state: [world_size, S]
  EXPECT_EQ(r.rng_states.size(0), 1);

  CheckpointSelection none;
  none.optimizer = false;
  none.bank = false;
  none.rank = 3;  // a rank the file has no state for
  const TrainingState q = read_checkpoint_part(path, none);
  EXPECT_TRUE(q.optimizer.empty());
  EXPECT_TRUE(q.bank.empty());
  EXPECT_FALSE(q.rng_state.defined());
  EXPECT_EQ(q.parameters.size(), s.parameters.size());
}

TEST(Checkpoint, RowsFromSeveralHoldersMustCoverTheBankExactly) {
  // One process passing a shard placement that leaves rows unwritten is refused before any file
  // is made (the same check catches two ranks writing the same tensor).
  const auto dir = scratch("coverage");
  const std::string path = (dir / "c.h5").string();
  TrainingState s = sample_state();
  s.bank_rows = {8, 0, 2};  // 4 rows of a bank of 8, every other row
  const std::string msg = error_of([&] { write_checkpoint(path, s); });
  EXPECT_CONTAINS(msg, "/bank/tokens has 8 rows but the ranks hold 4");
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(Checkpointer, ResumeAutoSkipsADamagedNewestCheckpointWithAWarning) {
  const auto dir = scratch("fallback");
  Checkpointer c(options_in(dir, 3));
  TrainingState s10 = sample_state(10), s20 = sample_state(20);
  s20.parameters.emplace_back("marked", marked_tensor());
  c.save(s10);
  c.save(s20);
  flip_byte_of(dir / "step-00000020.h5", marked_bytes());
  // `latest` names step 20, whose checksum fails: auto falls back to step 10.
  EXPECT_EQ(*c.resolve_resume(), (dir / "step-00000010.h5").string());
  // An explicit choice of the damaged one is an error, never a silent substitute or fresh start.
  const std::string msg = error_of([&] { Checkpointer(options_in(dir, 2, "20")).resolve_resume(); });
  EXPECT_CONTAINS(msg, "cannot be loaded");
  EXPECT_CONTAINS(msg, "/parameters/marked");
  // Without verification the damage goes unnoticed (the marker is there).
  CheckpointOptions unverified = options_in(dir, 2, "20");
  unverified.verify = false;
  EXPECT_EQ(*Checkpointer(unverified).resolve_resume(), (dir / "step-00000020.h5").string());

  // A truncated newest file is skipped the same way; when nothing usable is left, auto refuses
  // to start fresh over the damaged files.
  {
    std::ifstream in(dir / "step-00000010.h5", std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    write_bytes(dir / "step-00000010.h5", bytes.substr(0, bytes.size() / 2));
  }
  EXPECT_CONTAINS(error_of([&] { c.resolve_resume(); }), "none of the 2 checkpoint files");
}

TEST(CheckpointOptions, ExcludeFromLoadingNamesKnownParts) {
  CheckpointOptions o = options_in(scratch("exclude"));
  o.exclude_from_loading = {"cursor", "optimizer", "rng", "bank"};
  EXPECT_NO_THROW(Checkpointer{o});
  EXPECT_TRUE(o.excluded("cursor"));
  EXPECT_FALSE(CheckpointOptions().excluded("cursor"));
  o.exclude_from_loading = {"parameters"};
  EXPECT_CONTAINS(error_of([&] { Checkpointer{o}; }), "unknown part 'parameters'");
}

}  // namespace
}  // namespace elm::train
