// Pipeline parallelism on this machine (docs/benchmarks.md): run under mpirun with p ranks, one
// pipeline stage each.
//
//   mpirun -np 2 --oversubscribe --bind-to none -x OMP_NUM_THREADS=1 build/bin/bench_pipeline \
//       [--layers 8 --hidden 256 ...] [--batch 16] [--tokens 64] [--microbatches 1,2,4,8]
//       [--schedule 1f1b|gpipe] [--reps 3]
//
// 1. The bubble: for each micro-batch count m, one training micro-batch of the joint stage goes
//    through the p stages (equal layers per stage, memory after every layer, a small vocabulary so
//    the stages cost the same); the measured idle fraction 1 - sum(compute) / (p x wall) is printed
//    next to the theory (p-1)/(m+p-1), with their ratio.
// 2. Throughput: tokens per second of that pipeline (the largest m) against the same step on one
//    process (pp = 1) with p threads, i.e. the same cores: the ratio pp=p / pp=1.
// One JSON line per measurement on rank 0; nothing is asserted.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <string>
#include <vector>

#include <mpi.h>
#include <torch/torch.h>

#include "bench_shape_options.h"
#include "bench_timing.h"
#include "core/error.h"
#include "core/parse.h"
#include "dist/abort.h"
#include "dist/mpi_communicator.h"
#include "dist/mpi_env.h"
#include "dist/pipeline_partition.h"
#include "dist/process_grid.h"
#include "memory/bank_reader.h"
#include "memory/explicit_lm.h"
#include "memory/projection.h"
#include "model/qwen3_model.h"
#include "train/data_parallel.h"
#include "train/pipeline_state.h"
#include "train/pipeline_step.h"
#include "train/step_losses.h"

namespace {

struct Args {
  elm::model::Qwen3Config config;
  elm::memory::MemoryConfig memory;
  int64_t batch = 16, tokens = 64, reps = 3;
  std::vector<int64_t> microbatches = {1, 2, 4, 8};
  elm::dist::ScheduleKind schedule = elm::dist::ScheduleKind::one_f_one_b;
};

Args parse(int argc, char** argv) {
  Args a;
  auto& c = a.config;
  c.hidden_size = 256;
  c.intermediate_size = 768;
  c.num_hidden_layers = 8;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 64;
  c.vocab_size = 512;
  auto& m = a.memory;
  m.knowledge_num = 4096;
  m.knowledge_length = 16;
  m.knowledge_dim = 64;
  m.num_candidates = 8;
  m.num_candidates_internal = 16;
  m.dropout = 0.0;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    ELM_CHECK(i + 1 < argc, k, " needs a value (see the header of bench/bench_pipeline.cpp)");
    const std::string v = argv[++i];
    if (elm::bench::apply_shape_option(k, v, c)) continue;
    if (k == "--batch") a.batch = elm::parse_int(v, k);
    else if (k == "--tokens") a.tokens = elm::parse_int(v, k);
    else if (k == "--reps") a.reps = elm::parse_int(v, k);
    else if (k == "--microbatches") a.microbatches = elm::parse_id_list(v, k);
    else if (k == "--schedule") a.schedule = elm::dist::parse_schedule(v);
    else elm::fail("unknown option ", k, " (see the header of bench/bench_pipeline.cpp)");
  }
  ELM_CHECK(a.batch >= 1 && a.tokens >= 2 && a.reps >= 1, "--batch >= 1, --tokens >= 2, --reps >= 1");
  for (int64_t mb : a.microbatches) ELM_CHECK(mb >= 1 && mb <= a.batch, "--microbatches: ", mb, " is not in 1..--batch");
  c.max_position_embeddings = a.tokens + 1;
  c.validate("bench_pipeline shape");
  m.hidden_size = c.hidden_size;
  m.rms_norm_eps = c.rms_norm_eps;
  m.layers = elm::memory::parse_memory_layers("all", c.num_hidden_layers);
  m.validate();
  return a;
}

// Rows [begin, end) of a random next-token batch (the same rows on every rank).
elm::train::Batch make_batch(const Args& a, int64_t begin, int64_t end) {
  auto gen = elm::memory::make_generator(11);
  auto ids = torch::randint(1, a.config.vocab_size, {a.batch, a.tokens}, gen, torch::kInt64).narrow(0, begin, end - begin);
  elm::train::Batch b;
  b.input_ids = ids.contiguous();
  b.attention_mask = torch::ones_like(b.input_ids);
  b.targets = torch::full_like(b.input_ids, elm::train::kIgnoreIndex);
  b.targets.narrow(1, 0, a.tokens - 1).copy_(b.input_ids.narrow(1, 1, a.tokens - 1));
  b.loss_mask = b.targets.ne(elm::train::kIgnoreIndex).to(torch::kFloat32);
  for (int64_t i = begin; i < end; ++i) b.example_indices.push_back(i);
  return b;
}

std::shared_ptr<elm::memory::LocalBankReader> random_bank(const Args& a) {
  auto gen = elm::memory::make_generator(7);
  auto tokens = torch::randint(1, a.config.vocab_size, {a.memory.knowledge_num, a.memory.knowledge_length}, gen,
                               torch::kInt64);
  return std::make_shared<elm::memory::LocalBankReader>(tokens.to(torch::kInt32),
                                                        torch::ones({a.memory.knowledge_num}, torch::kBool), 0);
}

void zero_grads(const elm::train::NamedTensors& params) {
  for (const auto& p : params) p.second.mutable_grad() = torch::Tensor();
}

}  // namespace

int main(int argc, char** argv) {
  elm::dist::MpiEnvironment mpi(&argc, &argv);
  try {
    const Args a = parse(argc, argv);
    elm::dist::ParallelOptions po;
    po.pp = mpi.world_size();
    elm::dist::ProcessGrid grid(po, MPI_COMM_WORLD, torch::kCPU);
    const int p = grid.layout().pp;
    ELM_CHECK(a.config.num_hidden_layers % p == 0, "--layers ", a.config.num_hidden_layers,
              " must be a multiple of the rank count ", p, " (equal stages)");
    auto backbone = std::make_shared<const elm::model::Qwen3Model>(a.config, elm::model::random_qwen3_weights(a.config, 1),
                                                                   torch::kFloat32);
    elm::memory::ExplicitLM lm(backbone, random_bank(a), a.memory, 1);
    lm.train();
    const auto costs = elm::dist::estimate_stage_costs(a.config, a.memory.layers, a.config.hidden_size, a.tokens);
    std::string split;
    for (int s = 0; s < p; ++s) split += (s ? "," : "") + std::to_string(a.config.num_hidden_layers / p);
    elm::train::PipelineSettings settings;
    settings.partition = elm::dist::explicit_partition(costs, p, split);
    settings.schedule = a.schedule;
    const auto params = elm::train::stage_parameters(lm, settings.partition.stages.at(static_cast<size_t>(grid.stage())));
    const elm::train::Batch whole = make_batch(a, 0, a.batch);
    const elm::train::GlobalCounts counts = elm::train::count_global(whole);
    const elm::train::PipelineGroups groups{&grid.world(), &grid.pipeline(), 1};
    const bool root = grid.rank() == 0;
    const double tokens = static_cast<double>(a.batch * a.tokens);

    double pipeline_seconds = 0;
    int64_t pipeline_m = 0;
    for (int64_t m : a.microbatches) {
      std::vector<elm::train::PipelineChunk> chunks;
      for (int64_t c = 0; c < m; ++c) {
        const auto part = elm::train::shard_rows(a.batch, static_cast<int>(m), static_cast<int>(c));
        elm::train::PipelineChunk chunk;
        chunk.batch = make_batch(a, part.begin, part.end);
        for (int64_t r = part.begin; r < part.end; ++r) chunk.row_seeds.push_back(elm::train::row_seed(1, 0, 0, r));
        chunk.bank = lm.bank_ptr();
        chunks.push_back(std::move(chunk));
      }
      std::vector<double> bubbles, walls;
      std::vector<std::vector<double>> stage_compute(static_cast<size_t>(p));
      for (int64_t rep = 0; rep <= a.reps; ++rep) {  // rep 0 warms up
        zero_grads(params);
        grid.world().barrier();
        elm::train::PipelineTimes times;
        elm::train::pipeline_step(lm, chunks, counts, elm::train::Stage::joint, elm::train::LossWeights(), groups,
                                  settings, 1.0, &times);
        // Per rank [compute, wall] in its own slot, summed: every rank sees every stage's times.
        auto t = torch::zeros({2 * p}, torch::kFloat64);
        t[2 * grid.rank()] = times.compute;
        t[2 * grid.rank() + 1] = times.wall;
        grid.world().all_reduce_sum(t);
        if (rep == 0) continue;
        // The stages start together after the barrier and the last one to finish ends the step.
        double wall = 0, busy = 0;
        for (int r = 0; r < p; ++r) {
          wall = std::max(wall, t[2 * r + 1].item<double>());
          busy += t[2 * r].item<double>();
          stage_compute[static_cast<size_t>(r)].push_back(t[2 * r].item<double>());
        }
        bubbles.push_back(1.0 - busy / (p * wall));
        walls.push_back(wall);
      }
      const double bubble = elm::bench::median(bubbles), theory = elm::dist::theoretical_bubble(p, static_cast<int>(m));
      const double wall = elm::bench::median(walls);
      pipeline_seconds = wall;
      pipeline_m = m;
      if (root) {
        std::string computes;
        for (int r = 0; r < p; ++r) {
          computes += (r ? "," : "") + std::to_string(elm::bench::median(stage_compute[static_cast<size_t>(r)]));
        }
        std::printf("{\"bench\":\"pipeline_bubble\",\"schedule\":\"%s\",\"stages\":%d,\"microbatches\":%lld,"
                    "\"measured_bubble\":%.4f,\"theory_bubble\":%.4f,\"ratio_measured_vs_theory\":%.3f,"
                    "\"step_s\":%.4f,\"stage_compute_s\":[%s],\"tokens_per_s\":%.1f}\n",
                    elm::dist::schedule_name(a.schedule), p, static_cast<long long>(m), bubble, theory,
                    theory > 0 ? bubble / theory : 0.0, wall, computes.c_str(), tokens / wall);
        std::fflush(stdout);
      }
    }

    // pp = 1: the same step on rank 0 alone, with as many threads as there are stages. The other
    // ranks wait without spinning (an MPI barrier polls and would take a core from rank 0).
    double single_seconds = 0;
    if (!root) {
      MPI_Request request;
      MPI_Ibarrier(MPI_COMM_WORLD, &request);
      for (int done = 0; !done;) {
        MPI_Test(&request, &done, MPI_STATUS_IGNORE);
        if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    if (root) {
      const int before = torch::get_num_threads();
      torch::set_num_threads(p);
      lm.set_bank(lm.bank_ptr());
      std::vector<uint64_t> seeds;
      for (int64_t r = 0; r < a.batch; ++r) seeds.push_back(elm::train::row_seed(1, 0, 0, r));
      std::vector<double> walls;
      for (int64_t rep = 0; rep <= a.reps; ++rep) {
        for (auto& [name, t] : lm.named_trainable_parameters()) t.mutable_grad() = torch::Tensor();
        const double t0 = elm::bench::now_ms();
        auto losses = elm::train::memory_step_losses(lm, whole, elm::train::Stage::joint, elm::train::LossWeights(), {}, seeds);
        losses.total.backward();
        if (rep > 0) walls.push_back((elm::bench::now_ms() - t0) / 1000.0);
      }
      single_seconds = elm::bench::median(walls);
      torch::set_num_threads(before);
      std::printf("{\"bench\":\"pipeline_throughput\",\"stages\":%d,\"microbatches\":%lld,\"pp1_threads\":%d,"
                  "\"pp1_tokens_per_s\":%.1f,\"pp_tokens_per_s\":%.1f,\"ratio_pp_vs_pp1\":%.3f}\n",
                  p, static_cast<long long>(pipeline_m), p, tokens / single_seconds, tokens / pipeline_seconds,
                  single_seconds / pipeline_seconds);
      std::fflush(stdout);
      MPI_Request request;
      MPI_Ibarrier(MPI_COMM_WORLD, &request);
      MPI_Wait(&request, MPI_STATUS_IGNORE);
    }
    return 0;
  } catch (const std::exception& e) {
    elm::dist::abort_all(e.what());
  }
}
