// explicitlm plan end to end: the shipped Qwen3-4B config planned on 8 and 64 GPUs without weights
// (table and JSON), and the errors a user can cause (exit 1, message naming the option).
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/assertions.h"
#include "support/cli_runner.h"

namespace elm {
namespace {

using testing::run_cli;

std::string qwen3_4b_config() { return std::string(ELM_SOURCE_DIR) + "/configs/qwen3-4b.toml"; }

TEST(CliPlan, Qwen3FourBOnEightAndSixtyFourGpusFits) {
  for (const char* gpus : {"8", "64"}) {
    auto r = run_cli({"plan", "--config", qwen3_4b_config(), "--gpus", gpus});
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
    EXPECT_CONTAINS(r.out, std::string("on ") + gpus + " GPUs of 80 GiB");
    EXPECT_CONTAINS(r.out, std::string("grid: ") + gpus + " GPUs = pp ");
    EXPECT_CONTAINS(r.out, "36 memory layers x 92,245,171 = 3,320,826,156 trainable");
    EXPECT_CONTAINS(r.out, "pipeline bubble: (p-1)/(m+p-1)");
    EXPECT_CONTAINS(r.last_line(), std::string("verdict: fits on ") + gpus + " GPUs");
    if (!std::filesystem::exists("/shared/models/Qwen3-4B/config.json")) {
      EXPECT_CONTAINS(r.out, "has no config.json; using the built-in Qwen3-4B shape");
    }
  }
}

TEST(CliPlan, JsonIsOneObjectWhosePartsAddUp) {
  auto r = run_cli({"plan", "--config", qwen3_4b_config(), "--gpus", "64", "--pp", "4", "--microbatches", "8", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["gpus"], 64);
  EXPECT_EQ(j["pp"], 4);
  EXPECT_EQ(j["dp"], 16);
  EXPECT_FALSE(j["pp_chosen"].get<bool>());
  EXPECT_TRUE(j["fits"].get<bool>());
  EXPECT_DOUBLE_EQ(j["bubble"].get<double>(), 3.0 / 11.0);
  ASSERT_EQ(j["stages"].size(), 4u);
  int64_t layers = 0, trainable = 0;
  for (const auto& s : j["stages"]) {
    layers += s["last_layer"].get<int64_t>() - s["first_layer"].get<int64_t>() + 1;
    trainable += s["trainable_parameters"].get<int64_t>();
    const auto& m = s["memory_bytes"];
    const double parts = m["backbone"].get<double>() + m["parameters"].get<double>() + m["gradients"].get<double>() +
                         m["optimizer"].get<double>() + m["activations"].get<double>() + m["bank"].get<double>();
    EXPECT_NEAR(m["total"].get<double>(), parts, 1.0);
  }
  EXPECT_EQ(layers, 36);
  EXPECT_EQ(trainable, j["trainable_parameters"].get<int64_t>());
}

TEST(CliPlan, AGivenPpThatDoesNotFitPrintsThePlanAndFails) {
  auto r = run_cli({"plan", "--config", qwen3_4b_config(), "--gpus", "8", "--pp", "1", "--gpu-mem", "24"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.out, "does NOT fit");
  EXPECT_CONTAINS(r.err, "--gpu-mem is 24 GiB");
}

TEST(CliPlan, ErrorsNameTheOption) {
  auto r = run_cli({"plan", "--config", qwen3_4b_config(), "--gpus", "8", "--pp", "3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "--gpus 8 is not divisible by --pp 3");
  r = run_cli({"plan", "--config", qwen3_4b_config(), "--gpus", "8", "--gpu-mem", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "no pipeline depth fits --gpu-mem 2 GiB on --gpus 8");
  r = run_cli({"plan", "--config", qwen3_4b_config()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "missing required option --gpus");
  r = run_cli({"plan", "--config", qwen3_4b_config(), "--gpus", "8", "--model", "qwen3-8b"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "--model 'qwen3-8b' is not a built-in shape");
  r = run_cli({"plan", "--gpus", "8", "model.qwen3_model_path=/nonexistent/some-model"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "pass --model qwen3-4b or qwen3-0.6b");
}

TEST(CliPlan, HelpStatesTheFormulas) {
  auto r = run_cli({"plan", "--help"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_CONTAINS(r.out, "(34 d + 5 heads T) T B");
  EXPECT_CONTAINS(r.out, "min(pp - s, m)");
  EXPECT_CONTAINS(r.out, "explicitlm plan --config configs/qwen3-4b.toml --gpus 8");
}

}  // namespace
}  // namespace elm
