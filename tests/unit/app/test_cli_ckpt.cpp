// `explicitlm ckpt inspect|verify|export` on a small checkpoint written by train::write_checkpoint:
// what inspect reports, verify on an intact, a bit-flipped and a truncated file, and an export that
// the project's safetensors reader reads back bit for bit (and converted with --dtype).
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/half.h"
#include "io/safetensors.h"
#include "support/assertions.h"
#include "support/cli_runner.h"
#include "support/scratch_dir.h"
#include "train/checkpoint.h"

namespace elm {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

const std::string kKeys = "memory.layers.0.router.keys";  // float32 [2, 4, 8], a distinctive pattern
const std::string kGate = "memory.layers.0.gate.weight";  // bfloat16 [3, 5]
const std::string kScale = "memory.scale";                // float32 scalar

fs::path scratch(const std::string& name) { return testing::scratch_dir("cli-ckpt", name); }

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

// 1000 + i/8: exact in float32, not in bfloat16 (so --dtype bf16 has to round), and a byte pattern
// that appears nowhere else in the file (so the test can find the raw data of this one dataset).
torch::Tensor keys_tensor() {
  return (torch::arange(64, torch::kFloat32) * 0.125f + 1000.0f).reshape({2, 4, 8});
}

train::TrainingState make_state() {
  train::TrainingState s;
  s.step = 7;
  s.stage = "joint";
  s.config_text = "[training]\nstage = \"joint\"\nsteps = 7\n";
  s.cursor = {1, 40, 1234};
  s.schedule = {2e-3, 2, 100, 0.1};
  s.parameters = {{kKeys, keys_tensor()},
                  {kGate, torch::linspace(-2.0, 2.0, 15).reshape({3, 5}).to(torch::kBFloat16)},
                  {kScale, torch::tensor(0.75f)}};
  s.optimizer = {{kKeys + ".exp_avg", torch::full({2, 4, 8}, -0.5f)},
                 {kKeys + ".step", torch::tensor(int64_t{7})}};
  s.bank = {{"tokens", torch::arange(12, torch::kInt32).reshape({4, 3})},
            {"valid", torch::tensor({1, 0, 1, 1}, torch::kUInt8).to(torch::kBool)}};
  s.metrics_json = R"({"step":7,"train/loss":1.25})";
  return s;
}

// A run directory RUN/checkpoints/step-00000007.h5; returns the file.
fs::path write_run(const fs::path& run) {
  fs::create_directories(run / "checkpoints");
  const fs::path file = run / "checkpoints" / "step-00000007.h5";
  train::write_checkpoint(file.string(), make_state());
  return file;
}

// A copy of `good` with one byte of the keys parameter's raw data flipped.
fs::path damaged_copy(const fs::path& good, const fs::path& out) {
  std::string bytes = read_bytes(good);
  const torch::Tensor keys = keys_tensor();
  const std::string pattern(static_cast<const char*>(keys.data_ptr()), keys.nbytes());
  const size_t at = bytes.find(pattern);
  EXPECT_NE(at, std::string::npos) << "the keys data is not stored contiguously in " << good;
  EXPECT_EQ(bytes.find(pattern, at + 1), std::string::npos) << "the keys pattern appears twice";
  if (at == std::string::npos) return out;
  bytes[at + 37] = static_cast<char>(bytes[at + 37] ^ 0x01);
  write_bytes(out, bytes);
  return out;
}

// The tensor's bytes as the checkpoint stores them (bfloat16: its uint16 bits).
std::string raw_of(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.nbytes());
}

std::string raw_of(const io::SafetensorsFile& f, const io::TensorInfo& info) {
  return std::string(reinterpret_cast<const char*>(f.data(info)), info.nbytes());
}

TEST(CliCkpt, HelpDescribesEverySubcommand) {
  auto top = run_cli({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_CONTAINS(top.out, "ckpt");

  auto r = run_cli({"ckpt", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* sub : {"inspect", "verify", "export"}) EXPECT_CONTAINS(r.out, sub);
  EXPECT_EQ(run_cli({"ckpt"}).exit_code, 2);
  EXPECT_EQ(run_cli({"ckpt", "frobnicate", "x.h5"}).exit_code, 2);

  for (const char* sub : {"inspect", "verify", "export"}) {
    auto h = run_cli({"ckpt", sub, "--help"});
    EXPECT_EQ(h.exit_code, 0) << sub << ": " << h.err;
    EXPECT_CONTAINS(h.out, std::string("Usage: explicitlm ckpt ") + sub);
    EXPECT_CONTAINS(h.out, "Examples:");
  }
  auto e = run_cli({"ckpt", "export", "--help"});
  EXPECT_CONTAINS(e.out, "--force");
  EXPECT_CONTAINS(e.out, "--dtype");
  EXPECT_CONTAINS(e.out, "--no-verify");
}

TEST(CliCkpt, InspectReportsStateAndTensors) {
  const auto dir = scratch("inspect");
  const fs::path file = write_run(dir / "run");

  auto r = run_cli({"ckpt", "inspect", file.string(), "--tensors"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "step        7\n");
  EXPECT_CONTAINS(r.out, "stage       joint\n");
  EXPECT_CONTAINS(r.out, "cursor      epoch=1 position=40 seed=1234");
  EXPECT_CONTAINS(r.out, "parameters/" + kKeys + "  float32  [2, 4, 8]");
  EXPECT_CONTAINS(r.out, "parameters/" + kGate + "  bfloat16  [3, 5]");
  EXPECT_CONTAINS(r.out, "parameters/" + kScale + "  float32  []");
  EXPECT_CONTAINS(r.out, "optimizer/" + kKeys + ".step  int64  []");
  EXPECT_CONTAINS(r.out, "bank/tokens  int32  [4, 3]");
  EXPECT_CONTAINS(r.out, "bank/valid  bool  [4]");
  EXPECT_CONTAINS(r.out, R"("train/loss":1.25)");

  // Without --tensors: the summary only.
  auto brief = run_cli({"ckpt", "inspect", file.string()});
  ASSERT_EQ(brief.exit_code, 0) << brief.err;
  EXPECT_EQ(brief.out.find("parameters/" + kKeys), std::string::npos) << brief.out;

  // JSON, through the run directory: the same checkpoint, every number checked.
  auto j = run_cli({"ckpt", "inspect", (dir / "run").string(), "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  auto info = nlohmann::json::parse(j.last_line());  // not const: a missing key reads as null
  EXPECT_EQ(info["path"], file.string());
  EXPECT_EQ(info["step"], 7);
  EXPECT_EQ(info["format_version"], train::kCheckpointFormatVersion);
  EXPECT_EQ(info["stage"], "joint");
  EXPECT_EQ(info["world_size"], 1);
  EXPECT_EQ(info["cursor"]["epoch"], 1);
  EXPECT_EQ(info["cursor"]["position"], 40);
  EXPECT_EQ(info["cursor"]["seed"], 1234);
  EXPECT_EQ(info["schedule"]["warmup_steps"], 2);
  EXPECT_EQ(info["schedule"]["total_steps"], 100);
  EXPECT_DOUBLE_EQ(info["schedule"]["peak"].get<double>(), 2e-3);
  EXPECT_EQ(info["groups"]["parameters"]["tensors"], 3);
  EXPECT_EQ(info["groups"]["parameters"]["bytes"], 64 * 4 + 15 * 2 + 4);
  EXPECT_EQ(info["groups"]["optimizer"]["tensors"], 2);
  EXPECT_EQ(info["groups"]["optimizer"]["bytes"], 64 * 4 + 8);
  EXPECT_EQ(info["groups"]["bank"]["tensors"], 2);
  EXPECT_EQ(info["groups"]["bank"]["bytes"], 12 * 4 + 4);
  EXPECT_EQ(info["metrics"]["train/loss"], 1.25);
  EXPECT_FALSE(info["created"].get<std::string>().empty());

  // --config: the config text alone, so that it can be saved and reused.
  auto c = run_cli({"ckpt", "inspect", file.string(), "--config"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, make_state().config_text);
}

TEST(CliCkpt, VerifyPassesOnAnIntactCheckpointThroughEveryKindOfPath) {
  const auto dir = scratch("verify-ok");
  const fs::path file = write_run(dir / "run");
  for (const fs::path& path : {file, dir / "run" / "checkpoints", dir / "run"}) {
    auto r = run_cli({"ckpt", "verify", path.string()});
    EXPECT_EQ(r.exit_code, 0) << path << ": " << r.out << r.err;
    EXPECT_CONTAINS(r.out, "OK: step 7, ");
    EXPECT_CONTAINS(r.out, "bytes verified in " + file.string());
  }
  auto j = run_cli({"ckpt", "verify", file.string(), "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  auto v = nlohmann::json::parse(j.last_line());
  EXPECT_EQ(v["ok"], true);
  // 3 parameters + 2 optimizer + 2 bank + config, cursor, metrics, 4 schedule values.
  EXPECT_GE(v["datasets"].get<int64_t>(), 14);
  EXPECT_TRUE(v["problems"].empty());
}

TEST(CliCkpt, VerifyNamesTheDatasetWithAFlippedByte) {
  const auto dir = scratch("verify-flip");
  const fs::path good = write_run(dir / "run");
  const fs::path bad = damaged_copy(good, dir / "damaged.h5");
  ASSERT_TRUE(fs::exists(bad));

  auto r = run_cli({"ckpt", "verify", bad.string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_CONTAINS(r.out, "FAILED: " + bad.string());
  EXPECT_CONTAINS(r.out, "/parameters/" + kKeys + "'");
  // Only the damaged dataset is named.
  EXPECT_EQ(r.out.find(kGate), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(kKeys + ".exp_avg"), std::string::npos) << r.out;

  auto j = run_cli({"ckpt", "verify", bad.string(), "--json"});
  EXPECT_EQ(j.exit_code, 1);
  auto v = nlohmann::json::parse(j.last_line());
  EXPECT_EQ(v["ok"], false);
  ASSERT_EQ(v["problems"].size(), 1u) << j.out;
  EXPECT_CONTAINS(v["problems"][0].get<std::string>(), "/parameters/" + kKeys);
}

TEST(CliCkpt, TruncatedOrMissingFilesAreErrorsNamingThem) {
  const auto dir = scratch("truncated");
  const fs::path good = write_run(dir / "run");
  const fs::path cut = dir / "cut.h5";
  fs::copy_file(good, cut);
  fs::resize_file(cut, fs::file_size(good) / 2);

  auto v = run_cli({"ckpt", "verify", cut.string()});
  EXPECT_EQ(v.exit_code, 1) << v.out << v.err;
  EXPECT_CONTAINS(v.out + v.err, cut.string());

  auto i = run_cli({"ckpt", "inspect", cut.string()});
  EXPECT_EQ(i.exit_code, 1) << i.out << i.err;  // an error, not a crash (128 + signal)
  EXPECT_CONTAINS(i.err, cut.string());

  auto e = run_cli({"ckpt", "export", cut.string(), "--out", (dir / "x.safetensors").string()});
  EXPECT_EQ(e.exit_code, 1) << e.out << e.err;
  EXPECT_CONTAINS(e.err, cut.string());
  EXPECT_FALSE(fs::exists(dir / "x.safetensors"));

  const std::string missing = (dir / "no-such-step.h5").string();
  for (const char* sub : {"inspect", "verify"}) {
    auto m = run_cli({"ckpt", sub, missing});
    EXPECT_EQ(m.exit_code, 1) << sub;
    EXPECT_CONTAINS(m.err, missing);
  }
  auto none = run_cli({"ckpt", "verify"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_CONTAINS(none.err, "missing the checkpoint");
}

TEST(CliCkpt, ExportWritesTheParametersBitForBit) {
  const auto dir = scratch("export");
  const fs::path file = write_run(dir / "run");
  const fs::path out = dir / "memory.safetensors";

  auto r = run_cli({"ckpt", "export", (dir / "run").string(), "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "wrote " + out.string() + ": 3 tensors, 290 bytes");
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));

  const auto st = io::SafetensorsFile::open(out.string());
  ASSERT_EQ(st->tensors().size(), 3u);  // the parameters only: no optimizer state, no bank
  const train::TrainingState s = make_state();
  for (const auto& [name, tensor] : s.parameters) {
    const io::TensorInfo* info = st->find(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(info->dtype, tensor.scalar_type() == torch::kBFloat16 ? io::DType::BF16 : io::DType::F32) << name;
    EXPECT_EQ(info->shape, tensor.sizes().vec()) << name;
    EXPECT_EQ(raw_of(*st, *info), raw_of(tensor)) << name;
  }
  EXPECT_EQ(st->metadata().at("step"), "7");
  EXPECT_EQ(st->metadata().at("source"), file.string());
}

TEST(CliCkpt, ExportConvertsWithDtype) {
  const auto dir = scratch("export-dtype");
  const fs::path file = write_run(dir / "run");
  const train::TrainingState s = make_state();

  const fs::path bf16 = dir / "bf16.safetensors";
  auto r = run_cli({"ckpt", "export", file.string(), "--out", bf16.string(), "--dtype", "bf16"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  {
    const auto st = io::SafetensorsFile::open(bf16.string());
    const io::TensorInfo* keys = st->find(kKeys);
    ASSERT_NE(keys, nullptr);
    ASSERT_EQ(keys->dtype, io::DType::BF16);
    ASSERT_EQ(keys->numel(), 64);
    // Round to nearest even, as the project's own converter does (1000 + i/8 is not exact in bf16).
    const torch::Tensor f32 = keys_tensor();
    std::vector<uint16_t> expected(64);
    for (int i = 0; i < 64; ++i) expected[i] = io::f32_to_bf16(f32.data_ptr<float>()[i]);
    std::vector<uint16_t> got(64);
    std::memcpy(got.data(), st->data(*keys), 128);
    EXPECT_EQ(got, expected);
    const io::TensorInfo* gate = st->find(kGate);  // already bfloat16: unchanged
    ASSERT_NE(gate, nullptr);
    EXPECT_EQ(gate->dtype, io::DType::BF16);
    EXPECT_EQ(raw_of(*st, *gate), raw_of(s.parameters[1].second));
  }

  const fs::path f32 = dir / "f32.safetensors";
  r = run_cli({"ckpt", "export", file.string(), "--out", f32.string(), "--dtype", "f32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  {
    const auto st = io::SafetensorsFile::open(f32.string());
    const io::TensorInfo* gate = st->find(kGate);
    ASSERT_NE(gate, nullptr);
    ASSERT_EQ(gate->dtype, io::DType::F32);
    EXPECT_EQ(raw_of(*st, *gate), raw_of(s.parameters[1].second.to(torch::kFloat32)));  // exact widening
    const io::TensorInfo* keys = st->find(kKeys);
    ASSERT_NE(keys, nullptr);
    EXPECT_EQ(raw_of(*st, *keys), raw_of(keys_tensor()));
  }

  auto bad = run_cli({"ckpt", "export", file.string(), "--out", (dir / "x.safetensors").string(), "--dtype", "f16"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_CONTAINS(bad.err, "--dtype 'f16'");
}

TEST(CliCkpt, ExportRefusesToOverwriteWithoutForce) {
  const auto dir = scratch("export-force");
  const fs::path file = write_run(dir / "run");
  const fs::path out = dir / "m.safetensors";
  write_bytes(out, "not a model");

  auto r = run_cli({"ckpt", "export", file.string(), "--out", out.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, out.string());
  EXPECT_CONTAINS(r.err, "--force");
  EXPECT_EQ(read_bytes(out), "not a model");

  r = run_cli({"ckpt", "export", file.string(), "--out", out.string(), "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(io::SafetensorsFile::open(out.string())->tensors().size(), 3u);

  // Never over the checkpoint itself, even with --force.
  r = run_cli({"ckpt", "export", file.string(), "--out", file.string(), "--force"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "is the checkpoint itself");
  EXPECT_EQ(run_cli({"ckpt", "verify", file.string()}).exit_code, 0);
}

TEST(CliCkpt, ExportRefusesADamagedCheckpointUnlessNoVerify) {
  const auto dir = scratch("export-damaged");
  const fs::path bad = damaged_copy(write_run(dir / "run"), dir / "damaged.h5");
  ASSERT_TRUE(fs::exists(bad));
  const fs::path out = dir / "m.safetensors";

  auto r = run_cli({"ckpt", "export", bad.string(), "--out", out.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "/parameters/" + kKeys);
  EXPECT_CONTAINS(r.err, "--no-verify");
  EXPECT_FALSE(fs::exists(out));

  // What is in the file goes out as it is: the keys differ from the original in exactly one byte.
  r = run_cli({"ckpt", "export", bad.string(), "--out", out.string(), "--no-verify"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto st = io::SafetensorsFile::open(out.string());
  const io::TensorInfo* keys = st->find(kKeys);
  ASSERT_NE(keys, nullptr);
  const std::string got = raw_of(*st, *keys), want = raw_of(keys_tensor());
  ASSERT_EQ(got.size(), want.size());
  int differing = 0;
  for (size_t i = 0; i < got.size(); ++i) differing += got[i] != want[i];
  EXPECT_EQ(differing, 1);
}

}  // namespace
}  // namespace elm
