// explicitlm logits: raw float32 logits of every position, for parity checks and tooling.
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli_args.h"
#include "app/commands.h"
#include "app/runtime.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/atomic_file.h"
#include "model/qwen3_model.h"

namespace elm::app {

int run_logits(const Args& args) {
  ArgParser parser("logits", "--model DIR --ids 1,2,3 --out FILE [--dtype float32|bfloat16]",
                   "Runs one forward pass over the ids and writes the logits of every position as raw\n"
                   "little-endian float32, row-major, shape [T, vocab_size] (no header). The file is written\n"
                   "atomically (FILE.tmp, then rename). A JSON summary goes to stdout.");
  parser.option("--model", "DIR", "HF Qwen3 directory: config.json + model.safetensors (or sharded index)")
      .option("--ids", "LIST", "comma-separated token ids, or a JSON array")
      .option("--out", "FILE", "output file")
      .option("--dtype", "NAME", "compute dtype: float32 (default) or bfloat16; logits are always written as f32")
      .option("--threads", "N", "CPU threads (runtime.threads; 0 = OMP_NUM_THREADS or all cores)")
      .examples("  explicitlm logits --model build/models/qwen3-tiny --ids 9707,11,1879 --out /tmp/logits.f32\n"
                "  python3 -c \"import numpy; print(numpy.fromfile('/tmp/logits.f32', 'f4').reshape(3, -1).argmax(1))\"");
  if (!parser.parse(args)) return 0;
  Config config = parser.config();
  if (auto v = parser.maybe("--model")) config.set("model.qwen3_model_path", *v, "command line");
  if (auto v = parser.maybe("--dtype")) config.set("model.dtype", *v, "command line");
  if (auto v = parser.maybe("--threads")) config.set("runtime.threads", parse_int(*v, "--threads"), "command line");
  const std::string out_path = parser.get("--out");
  const std::vector<int64_t> ids = parse_id_list(parser.get("--ids"), "--ids");
  ELM_CHECK(!ids.empty(), "--ids: no token ids given");
  Runtime rt = start_runtime("logits", std::move(config));

  const std::string model_dir = rt.config.get_string("model.qwen3_model_path");
  ELM_CHECK(!model_dir.empty(), "explicitlm logits: missing --model DIR");
  auto model = model::Qwen3Model::load(model_dir, model::parse_compute_dtype(rt.config.get_string("model.dtype")));
  for (size_t i = 0; i < ids.size(); ++i) {
    ELM_CHECK(ids[i] >= 0 && ids[i] < model.config().vocab_size, "--ids element ", i, ": id ", ids[i],
              " is outside the vocabulary [0, ", model.config().vocab_size, ")");
  }
  torch::InferenceMode inference_mode;
  auto logits = model.forward(torch::tensor(ids, torch::kInt64).unsqueeze(0)).logits[0].contiguous();
  write_file_atomic(out_path, logits.data_ptr<float>(), logits.numel() * sizeof(float));
  nlohmann::json summary = {{"out", out_path},
                            {"shape", {logits.size(0), logits.size(1)}},
                            {"dtype", "float32"},
                            {"compute_dtype", rt.config.get_string("model.dtype")},
                            {"argmax_last", logits[-1].argmax().item<int64_t>()}};
  std::cout << summary.dump() << "\n";
  return 0;
}

}  // namespace elm::app
