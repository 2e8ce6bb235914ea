// explicitlm plan: how a run splits over GPUs and whether it fits, from the config alone (no
// weights are read). The arithmetic is dist/scale_plan.h; this file resolves the inputs (model
// shape, memory config, options) and prints a table or one JSON object. docs/plan.md.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/cli_args.h"
#include "app/commands.h"
#include "core/error.h"
#include "dist/parallel_options.h"
#include "dist/scale_plan.h"
#include "memory/memory_config.h"
#include "memory/parameter_count.h"
#include "model/qwen3_config.h"

namespace elm::app {

namespace {

namespace fs = std::filesystem;

struct Shape {
  model::Qwen3Config config;
  std::string name;  // "Qwen3-4B" or the config.json it came from
  std::vector<std::string> notes;
};

// --model wins; else model.qwen3_model_path/config.json; else a directory named like a published
// checkpoint (this lets the shipped configs/qwen3-4b.toml plan on machines without the weights).
Shape resolve_shape(const ArgParser& parser, const Config& config) {
  auto builtin = [](const std::string& key) -> Shape {
    const std::string name = key == "qwen3-4b" ? "Qwen3-4B" : "Qwen3-0.6B";
    return {*dist::builtin_backbone_shape(key), name, {}};
  };
  if (auto m = parser.maybe("--model")) {
    ELM_CHECK(dist::builtin_backbone_shape(*m).has_value(), "explicitlm plan: --model '", *m,
              "' is not a built-in shape (expected qwen3-4b or qwen3-0.6b)");
    Shape s = builtin(*m);
    s.notes.push_back("--model " + *m + ": the built-in " + s.name + " shape (model.qwen3_model_path is not read)");
    return s;
  }
  const std::string& path = config.get_string("model.qwen3_model_path");
  ELM_CHECK(!path.empty(), "explicitlm plan: model.qwen3_model_path is not set; set it or pass --model qwen3-4b|qwen3-0.6b");
  if (fs::exists(fs::path(path) / "config.json")) return {model::load_qwen3_config(path), path + "/config.json", {}};
  std::string dir = path;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const std::string base = fs::path(dir).filename().string();
  for (const char* key : {"qwen3-4b", "qwen3-0.6b"}) {
    Shape s = builtin(key);
    if (base != s.name) continue;
    s.notes.push_back("model.qwen3_model_path = " + path + " has no config.json; using the built-in " + s.name +
                      " shape (SPECS.md)");
    return s;
  }
  fail("explicitlm plan: model.qwen3_model_path = ", path,
       " has no config.json and does not name a published checkpoint; pass --model qwen3-4b or qwen3-0.6b");
}

int64_t positive(const ArgParser& p, const std::string& name, int64_t fallback) {
  const int64_t v = p.get_int(name, fallback);
  ELM_CHECK(v >= 1, "explicitlm plan: ", name, " must be >= 1, got ", v);
  return v;
}

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", bytes / dist::kGiB);
  return buf;
}

// Traffic spans KiB (bank indices) to tens of GiB (all-reduce): one unit per column keeps it readable.
std::string mib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", bytes / (1024.0 * 1024.0));
  return buf;
}

// 92245171 -> "92,245,171"
std::string grouped(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string stage_label(const dist::StagePlan& s, size_t i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%zu (layers %lld-%lld)", i, static_cast<long long>(s.span.first_layer),
                static_cast<long long>(s.span.end_layer - 1));
  return buf;
}

struct Candidate {
  int64_t pp, dp;
  double peak;
  bool fits;
};

void print_table(const dist::ScalePlan& plan, const Shape& shape, const dist::ScalePlanInputs& in,
                 const std::vector<Candidate>& candidates) {
  const auto& bc = in.backbone;
  std::cout << "explicitlm plan: " << shape.name << ", " << (in.dtype_bytes == 2 ? "bfloat16" : "float32")
            << " weights, on " << plan.gpus << " GPUs of " << in.gpu_mem_gib << " GiB\n";
  for (const auto& n : shape.notes) std::cout << "note: " << n << "\n";
  std::cout << "model: " << bc.num_hidden_layers << " decoder layers, hidden " << bc.hidden_size << ", "
            << grouped(plan.backbone_parameters) << " frozen parameters; " << in.memory.layers.size()
            << " memory layers x " << grouped(plan.memory_layer_parameters) << " = "
            << grouped(plan.trainable_parameters) << " trainable\n";
  std::cout << "grid: " << plan.gpus << " GPUs = pp " << plan.pp << " x dp " << plan.dp
            << (plan.pp_chosen ? " (pp: the smallest that fits)" : " (pp given)") << "\n";
  if (candidates.size() > 1 || plan.pp_chosen) {
    std::cout << "  tried:";
    for (const auto& c : candidates) {
      std::cout << " pp " << c.pp << " x dp " << c.dp << ": " << gib(c.peak) << " GiB " << (c.fits ? "fits" : "does NOT fit")
                << (&c == &candidates.back() ? "" : ";");
    }
    std::cout << "\n";
  }
  std::cout << "batch: micro-batches of " << plan.micro_batch_size << " row(s) x " << plan.seq_len << " tokens, "
            << plan.microbatches << " per training micro-batch"
            << (plan.pp > 1 ? std::string(", schedule ") + dist::schedule_name(plan.schedule) : std::string())
            << (plan.recompute ? ", recomputation" : "") << ", grad_accum " << plan.grad_accum_steps << ": "
            << plan.rows_per_step << " rows per optimizer step\n";
  std::cout << "partition: " << plan.partition.describe() << "\n\n";

  char line[256];
  std::cout << "memory per rank, GiB (activations: micro-batches in flight x one micro-batch)\n";
  std::snprintf(line, sizeof line, "%-22s %9s %8s %8s %8s %20s %7s %8s  %s\n", "stage", "backbone", "params", "grads",
                "adamw", "activations", "bank", "total", "verdict");
  std::cout << line;
  for (size_t i = 0; i < plan.stages.size(); ++i) {
    const auto& s = plan.stages[i];
    const auto& m = s.memory;
    const std::string act = gib(m.activations) + " (" + std::to_string(s.in_flight) + " x " +
                            gib(s.activations_per_microbatch) + (plan.recompute ? " r" : "") + ")";
    std::snprintf(line, sizeof line, "%-22s %9s %8s %8s %8s %20s %7s %8s  %s\n", stage_label(s, i).c_str(),
                  gib(m.backbone).c_str(), gib(m.parameters).c_str(), gib(m.gradients).c_str(), gib(m.optimizer).c_str(),
                  act.c_str(), gib(m.bank).c_str(), gib(m.total()).c_str(), s.fits ? "fits" : "does NOT fit");
    std::cout << line;
  }
  std::cout << "\ncommunication per optimizer step, MiB sent by one rank\n";
  std::snprintf(line, sizeof line, "%-22s %10s %10s %11s %10s %10s %9s\n", "stage", "act fwd", "grad bwd", "all-reduce",
                "bank idx", "bank rows", "total");
  std::cout << line;
  double cluster = 0;
  for (size_t i = 0; i < plan.stages.size(); ++i) {
    const auto& t = plan.stages[i].traffic;
    cluster += t.total() * static_cast<double>(plan.dp);
    std::snprintf(line, sizeof line, "%-22s %10s %10s %11s %10s %10s %9s\n", stage_label(plan.stages[i], i).c_str(),
                  mib(t.activations_forward).c_str(), mib(t.gradients_backward).c_str(),
                  mib(t.gradient_all_reduce).c_str(), mib(t.bank_requests).c_str(), mib(t.bank_replies).c_str(),
                  mib(t.total()).c_str());
    std::cout << line;
  }
  std::cout << "all " << plan.gpus << " ranks together: " << gib(cluster) << " GiB per optimizer step\n\n";
  std::snprintf(line, sizeof line, "pipeline bubble: (p-1)/(m+p-1) = %lld/%lld = %.1f%%\n",
                static_cast<long long>(plan.pp - 1), static_cast<long long>(plan.microbatches + plan.pp - 1),
                100.0 * plan.bubble);
  std::cout << line;
  const auto& full = plan.fullest();
  std::cout << "verdict: " << (plan.fits() ? "fits" : "does NOT fit") << " on " << plan.gpus << " GPUs (pp " << plan.pp
            << " x dp " << plan.dp << "): the fullest stage needs " << gib(full.memory.total()) << " of "
            << in.gpu_mem_gib << " GiB\n";
}

nlohmann::json memory_json(const dist::StageMemory& m) {
  return {{"backbone", m.backbone},   {"parameters", m.parameters}, {"gradients", m.gradients},
          {"optimizer", m.optimizer}, {"activations", m.activations}, {"bank", m.bank},
          {"total", m.total()}};
}

nlohmann::json plan_json(const dist::ScalePlan& plan, const Shape& shape, const dist::ScalePlanInputs& in,
                         const std::vector<Candidate>& candidates) {
  nlohmann::json stages = nlohmann::json::array();
  for (size_t i = 0; i < plan.stages.size(); ++i) {
    const auto& s = plan.stages[i];
    const auto& t = s.traffic;
    stages.push_back({{"stage", i},
                      {"first_layer", s.span.first_layer},
                      {"last_layer", s.span.end_layer - 1},
                      {"embedding", s.span.embedding},
                      {"head", s.span.head},
                      {"cost", s.span.cost},
                      {"memory_layers", s.memory_layers},
                      {"embedding_table", s.embedding_table},
                      {"untied_lm_head", s.untied_lm_head},
                      {"backbone_parameters", s.backbone_parameters},
                      {"trainable_parameters", s.trainable_parameters},
                      {"in_flight", s.in_flight},
                      {"activations_per_microbatch_bytes", s.activations_per_microbatch},
                      {"memory_bytes", memory_json(s.memory)},
                      {"total_gib", s.memory.total() / dist::kGiB},
                      {"fits", s.fits},
                      {"traffic_bytes",
                       {{"activations_forward", t.activations_forward},
                        {"gradients_backward", t.gradients_backward},
                        {"gradient_all_reduce", t.gradient_all_reduce},
                        {"bank_requests", t.bank_requests},
                        {"bank_replies", t.bank_replies},
                        {"total", t.total()}}}});
  }
  nlohmann::json tried = nlohmann::json::array();
  for (const auto& c : candidates) tried.push_back({{"pp", c.pp}, {"dp", c.dp}, {"peak_gib", c.peak / dist::kGiB}, {"fits", c.fits}});
  return {{"model", shape.name},
          {"notes", shape.notes},
          {"dtype_bytes", in.dtype_bytes},
          {"decoder_layers", in.backbone.num_hidden_layers},
          {"hidden_size", in.backbone.hidden_size},
          {"gpus", plan.gpus},
          {"pp", plan.pp},
          {"dp", plan.dp},
          {"pp_chosen", plan.pp_chosen},
          {"gpu_mem_gib", in.gpu_mem_gib},
          {"schedule", dist::schedule_name(plan.schedule)},
          {"recompute", plan.recompute},
          {"microbatches", plan.microbatches},
          {"micro_batch_size", plan.micro_batch_size},
          {"seq_len", plan.seq_len},
          {"grad_accum_steps", plan.grad_accum_steps},
          {"rows_per_step", plan.rows_per_step},
          {"backbone_parameters", plan.backbone_parameters},
          {"memory_layer_parameters", plan.memory_layer_parameters},
          {"trainable_parameters", plan.trainable_parameters},
          {"partition", plan.partition.describe()},
          {"bubble", plan.bubble},
          {"stages", stages},
          {"candidates", tried},
          {"fits", plan.fits()}};
}

const char* kNotes =
    "Per rank of each stage, in bytes (docs/plan.md has the details):\n"
    "  backbone     frozen weights of its decoder layers x dtype bytes, plus the [V, d] embedding table\n"
    "               where it is read (stage 0, stages with memory layers, the tied lm_head), final norm\n"
    "  params       trainable memory parameters x 4 (fp32); grads the same; adamw 2 x params\n"
    "  activations  in_flight x one micro-batch: 1f1b holds min(pp - s, m), gpipe m; one micro-batch of\n"
    "               B rows x T tokens keeps per decoder layer (34 d + 5 heads T) T B x dtype/2 (Megatron),\n"
    "               per memory layer 4 B (T (12 + C) d + Q ((2 + 7 blocks) d + kdim + 2 sqrt(N) + k^2))\n"
    "               (Q = T, or 1 for sequence_mean), on the last stage B T V (dtype + 4) for the logits;\n"
    "               with parallel.recompute: in_flight x the [B, T, d] input + one micro-batch\n"
    "  bank         ceil(N / dp) x (L x 4 + 1) on stages with memory layers\n"
    "Sent per optimizer step: B T d x dtype per micro-batch to the next stage and back; ring all-reduce\n"
    "2 (dp-1)/dp x fp32 params; per memory layer and query C x 8 bytes of indices out and\n"
    "C x (L + 1) x 4 bytes of rows back, times (dp-1)/dp (before deduplication).\n"
    "Without --pp: the smallest pp dividing --gpus whose stages all fit. Exit status 1 when a stage does\n"
    "not fit.";

}  // namespace

int run_plan(const Args& args) {
  ArgParser parser("plan",
                   "--config CONFIG --gpus G [--gpu-mem GiB] [--pp P] [--dp D] [--microbatches M] [--seq-len T] "
                   "[--micro-batch-size B] [--logit-fraction F] [--model qwen3-4b|qwen3-0.6b] [--json] [section.key=value ...]",
                   "Plans a training run on G GPUs without loading weights: the pipeline partition, memory per rank\n"
                   "of each stage against --gpu-mem, communication per optimizer step and the pipeline bubble.");
  parser.option("--gpus", "G", "GPUs (ranks) in the job")
      .option("--gpu-mem", "GiB", "memory of one GPU (default 80)")
      .option("--pp", "P", "pipeline stages (default parallel.pp when set, else the smallest that fits)")
      .option("--dp", "D", "data-parallel ranks per stage (default G / P)")
      .option("--microbatches", "M", "pipeline micro-batches per training micro-batch (default parallel.microbatches)")
      .option("--seq-len", "T", "tokens per row (default data.max_length)")
      .option("--micro-batch-size", "B",
              "rows per pipeline micro-batch (default: training.batch_size split over dp and M as the trainer does)")
      .option("--logit-fraction", "F",
              "share of positions with a loss, for the stage balance (default 1: pretraining text; the trainer "
              "measures it on data.train_path)")
      .option("--model", "NAME", "built-in backbone shape instead of model.qwen3_model_path/config.json")
      .flag("--json", "one JSON object instead of the table");
  parser.notes(kNotes);
  parser.examples(
      "  explicitlm plan --config configs/qwen3-4b.toml --gpus 8\n"
      "  explicitlm plan --config configs/qwen3-4b.toml --gpus 64 --pp 4 --microbatches 8 --json\n"
      "  explicitlm plan --config configs/tiny.toml --model qwen3-0.6b --gpus 2 --gpu-mem 24");
  if (!parser.parse(args)) return 0;
  const Config& config = parser.config();
  const Shape shape = resolve_shape(parser, config);
  const dist::ParallelOptions parallel = dist::ParallelOptions::from_config(config);

  dist::ScalePlanInputs in;
  in.backbone = shape.config;
  in.memory = memory::MemoryConfig::from_config(config, in.backbone.hidden_size, in.backbone.num_hidden_layers,
                                                in.backbone.rms_norm_eps);
  in.dtype_bytes = config.get_string("model.dtype") == "bfloat16" ? 2 : 4;
  ELM_CHECK(parser.has("--gpus"), "explicitlm plan: missing required option --gpus (see --help)");
  in.gpus = positive(parser, "--gpus", 1);
  in.gpu_mem_gib = parser.get_float("--gpu-mem", 80.0);
  ELM_CHECK(in.gpu_mem_gib > 0, "explicitlm plan: --gpu-mem must be > 0 GiB, got ", in.gpu_mem_gib);
  // A value written in the config counts as given; the schema defaults (pp 1, dp 0) mean "choose".
  const bool pp_in_config = config.origin("parallel.pp") != "default";
  in.pp = parser.has("--pp") ? positive(parser, "--pp", 1) : (pp_in_config ? parallel.pp : 0);
  in.dp = parser.has("--dp") ? positive(parser, "--dp", 1) : parallel.dp;
  in.microbatches = positive(parser, "--microbatches", parallel.microbatches);
  in.seq_len = positive(parser, "--seq-len", config.get_int("data.max_length"));
  in.micro_batch_size = parser.has("--micro-batch-size") ? positive(parser, "--micro-batch-size", 1) : 0;
  in.batch_size = config.get_int("training.batch_size");
  in.grad_accum_steps = config.get_int("training.grad_accum_steps");
  in.schedule = parallel.schedule;
  in.recompute = parallel.recompute;
  in.stage_layers = parallel.stage_layers;
  in.logit_fraction = parser.get_float("--logit-fraction", 1.0);

  // Every depth that would be tried, for the "tried" line; the chosen plan comes from make_scale_plan.
  std::vector<Candidate> candidates;
  for (int64_t pp : dist::candidate_pps(in)) {
    const dist::ScalePlan p = dist::plan_with_pp(in, pp);
    candidates.push_back({p.pp, p.dp, p.fullest().memory.total(), p.fits()});
  }
  const dist::ScalePlan plan = dist::make_scale_plan(in);
  Shape shown = shape;
  shown.notes.insert(shown.notes.end(), plan.notes.begin(), plan.notes.end());
  if (parser.has("--json")) {
    std::cout << plan_json(plan, shown, in, candidates).dump() << "\n";
  } else {
    print_table(plan, shown, in, candidates);
  }
  std::cout.flush();
  if (!plan.fits()) {
    const auto& full = plan.fullest();
    fail("explicitlm plan: does NOT fit: a stage needs ", gib(full.memory.total()), " GiB with pp ", plan.pp, " x dp ",
         plan.dp, " but --gpu-mem is ", in.gpu_mem_gib, " GiB (leave out --pp to choose the smallest that fits, or "
         "lower --micro-batch-size / --seq-len)");
  }
  return 0;
}

}  // namespace elm::app
