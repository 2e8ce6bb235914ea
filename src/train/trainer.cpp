#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "core/clock.h"
#include "core/config.h"
#include "core/error.h"
#include "core/logging.h"
#include "dist/broadcast_text.h"
#include "dist/parallel_options.h"
#include "dist/pipeline_partition.h"
#include "dist/process_grid.h"
#include "dist/sharded_bank_loader.h"
#include "dist/sharded_bank_reader.h"
#include "memory/bank.h"
#include "memory/explicit_lm.h"
#include "memory/memory_config.h"
#include "memory/stats.h"
#include "model/qwen3_model.h"
#include "train/backbone_export.h"
#include "train/bank_overlay.h"
#include "train/checkpoint.h"
#include "train/checkpointer.h"
#include "train/data_loader.h"
#include "train/data_parallel.h"
#include "train/data_options.h"
#include "train/dataset.h"
#include "train/final_evaluation.h"
#include "train/lr_schedule.h"
#include "train/metrics_log.h"
#include "train/optimizer.h"
#include "train/pipeline_state.h"
#include "train/pipeline_step.h"
#include "train/progress.h"
#include "train/step_losses.h"
#include "train/stop_request.h"
#include "train/train_options.h"

namespace elm::train {

namespace {

using Clock = std::chrono::steady_clock;


// Sums of the per-micro-batch values between two metrics lines.
struct IntervalMeter {
  std::map<std::string, double> sum;
  std::map<std::string, int64_t> count;
  int64_t tokens = 0;
  void add(const std::string& key, double v) {
    if (std::isnan(v)) return;
    sum[key] += v;
    count[key] += 1;
  }
  void add(const StepLosses& l) {
    add("loss", l.loss);
    add("ce_loss", l.ce);
    add("similarity_loss", l.similarity);
    add("diversity_loss", l.diversity);
    add("router_loss", l.router);
    add("alpha_mean", l.alpha);
    add("selection_hit", l.selection_hit);
    add("router_recall", l.router_recall);
    tokens += l.tokens;
  }
  double mean(const std::string& key) const {
    auto it = sum.find(key);
    return it == sum.end() ? std::nan("") : it->second / static_cast<double>(count.at(key));
  }
  void fill(nlohmann::json& j) const {
    for (const auto& [k, v] : sum) j[k] = v / static_cast<double>(count.at(k));
  }
  void reset() { *this = IntervalMeter(); }
};

uint64_t step_seed(uint64_t seed, int64_t step) {
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(step) + 1;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return (x ^ (x >> 31)) & 0x7fffffffffffffffULL;
}

// Per batch row, the bank rows its example overrides (tokenised like bank facts).
std::vector<std::map<int64_t, std::vector<int32_t>>> batch_overrides(const Dataset& data, const Batch& batch,
                                                                     const text::Tokenizer& tokenizer,
                                                                     const memory::BankReader& bank) {
  std::vector<std::map<int64_t, std::vector<int32_t>>> rows(static_cast<size_t>(batch.size()));
  for (int64_t b = 0; b < batch.size(); ++b) {
    const Example& ex = data.at(batch.example_indices[static_cast<size_t>(b)]);
    for (const auto& o : ex.bank_overrides) {
      ELM_CHECK(o.index < bank.num_entries(), data.path(), ":", data.line_of(batch.example_indices[static_cast<size_t>(b)]),
                ": bank override of entry ", o.index, " but the bank has ", bank.num_entries(), " entries");
      rows[static_cast<size_t>(b)][o.index] =
          memory::encode_entry(tokenizer, o.text, bank.entry_length(), bank.pad_id());
    }
  }
  return rows;
}

bool any_overrides(const Dataset& data) {
  for (int64_t i = 0; i < data.size(); ++i) {
    if (!data.at(i).bank_overrides.empty()) return true;
  }
  return false;
}

// The bank rows a resume takes from its checkpoint (the bank travels with the checkpoint,
// ARCHITECTURE 5), read for this rank's shard: `rows` nullopt = all of them. Empty when the
// checkpoint has none. The shape must be the configured bank's.
std::pair<torch::Tensor, torch::Tensor> checkpoint_bank_rows(const std::string& checkpoint, int64_t num_entries,
                                                             int64_t entry_length,
                                                             std::optional<CheckpointSelection::Rows> rows) {
  CheckpointSelection sel;
  sel.parameter = [](const std::string&) { return false; };
  sel.optimizer = false;
  sel.bank_rows = rows;
  const TrainingState st = read_checkpoint_part(checkpoint, sel);
  torch::Tensor tokens, valid;
  for (const auto& [name, t] : st.bank) {
    if (name == "tokens") tokens = t;
    if (name == "valid") valid = t;
  }
  if (!tokens.defined() || !valid.defined()) return {};
  const int64_t n = rows ? st.bank_rows.total_rows : tokens.size(0);
  ELM_CHECK(n == num_entries && tokens.size(1) == entry_length, "checkpoint ", checkpoint, " holds a bank of ", n, " x ",
            tokens.size(1), " entries, the configured one is ", num_entries, " x ", entry_length,
            " (set checkpoint.exclude_from_loading = [\"bank\"] to use the configured bank)");
  return {tokens.to(torch::kInt32), valid.to(torch::kBool)};
}

// The bank the memory stages read: one process holds it whole; a DP group of g > 1 ranks shares
// one bank file (model.cache_path, made current by rank 0) and each rank loads only its rows.
// Resuming from a checkpoint with a bank: the rows come from the checkpoint, each rank reading
// its own shard for this run's DP size (which may differ from the one that saved it).
struct TrainingBank {
  std::shared_ptr<const memory::BankReader> reader;
  memory::MemoryBank whole;  // one process: the loaded bank (for the checkpoint's copy)
  bool sharded = false;
};

TrainingBank load_training_bank(const Config& config, const text::Tokenizer& tokenizer, dist::Communicator* world,
                                dist::Communicator* dp, const std::string& checkpoint) {
  TrainingBank bank;
  if (!dp || dp->size() == 1) {
    bank.whole = memory::bank_from_config(config, tokenizer);
    if (!checkpoint.empty()) {
      auto [tokens, valid] =
          checkpoint_bank_rows(checkpoint, bank.whole.num_entries, bank.whole.entry_length, std::nullopt);
      if (tokens.defined()) {
        bank.whole.tokens = tokens;
        bank.whole.valid = valid;
        ELM_LOG(info) << "memory bank: the rows of " << checkpoint;
      }
    }
    bank.reader = std::make_shared<memory::LocalBankReader>(memory::make_bank_reader(bank.whole));
    return bank;
  }
  const std::string path = config.get_string("model.cache_path");
  ELM_CHECK(!path.empty(), "data-parallel training reads the sharded bank from a bank file: set model.cache_path (",
            "rank 0 builds it from model.database_init_path when it is missing or stale)");
  // One rank of the world writes the file (several stages' DP groups share it).
  if (world->rank() == 0) {
    memory::ensure_bank_file(path, config.get_string("model.database_init_path"), tokenizer,
                             config.get_int("model.knowledge_num"), config.get_int("model.knowledge_length"),
                             config.get_bool("model.recompute_cache"));
  }
  world->barrier();  // the file is complete before any rank opens it
  const auto sharding = dist::ParallelOptions::from_config(config).bank_sharding;
  std::unique_ptr<dist::ShardedBankReader> reader;
  std::string source = path;
  if (!checkpoint.empty()) {
    const memory::BankInfo info = memory::read_bank_info(path);
    const dist::ShardLayout layout(info.num_entries, dp->size(), sharding);
    const int64_t rows = layout.rows_of(dp->rank());
    const CheckpointSelection::Rows mine{rows == 0 ? 0 : layout.global_index(dp->rank(), 0), rows,
                                         sharding == dist::BankSharding::kBlock ? 1 : dp->size()};
    auto [tokens, valid] = checkpoint_bank_rows(checkpoint, info.num_entries, info.entry_length, mine);
    if (tokens.defined()) {
      reader = std::make_unique<dist::ShardedBankReader>(*dp, layout, tokens, valid, info.entry_length, info.meta.pad_id);
      source = checkpoint;
    }
  }
  if (!reader) reader = dist::load_sharded_bank(*dp, path, sharding);
  ELM_LOG(info) << "memory bank: " << dist::sharding_name(sharding) << " shard of " << source << " on " << dp->where()
                << ": " << reader->layout().rows_of(dp->rank()) << " of " << reader->num_entries() << " entries ("
                << reader->shard_bytes() << " bytes)";
  bank.reader = std::move(reader);
  bank.sharded = true;
  return bank;
}

// The fraction of tokens that carry a loss (where lm_head runs), over the first 1000 examples:
// the same on every rank, and enough for the pipeline's cost estimate.
double loss_token_fraction(const Dataset& data) {
  int64_t tokens = 0, loss = 0;
  for (int64_t i = 0; i < std::min<int64_t>(data.size(), 1000); ++i) {
    tokens += static_cast<int64_t>(data.at(i).input_ids.size());
    for (auto m : data.at(i).loss_mask) loss += m;
  }
  return tokens > 0 ? static_cast<double>(loss) / static_cast<double>(tokens) : 1.0;
}

// Rank 0 resolves a checkpoint choice (the file system may change while ranks look); every rank
// gets its answer ("" = none).
std::string agreed_path(dist::Communicator* world, const std::function<std::string()>& resolve) {
  if (!world || world->size() == 1) return resolve();
  return dist::broadcast_string(*world, world->rank() == 0 ? resolve() : std::string(), 0);
}

// The chunks of this rank's rows of one global micro-batch under pipeline parallelism: its DP
// slice, split into `microbatches` contiguous pieces; an empty piece runs a stand-in row.
template <typename MakeBank>
std::vector<PipelineChunk> pipeline_chunks(const Dataset& data, const std::vector<int64_t>& global_rows, int dp, int dp_rank,
                                           int64_t microbatches, uint64_t seed, int64_t step, int64_t micro,
                                           int32_t pad_id, const MakeBank& make_bank) {
  const RowRange mine = shard_rows(static_cast<int64_t>(global_rows.size()), dp, dp_rank);
  std::vector<PipelineChunk> chunks;
  for (int64_t c = 0; c < microbatches; ++c) {
    const RowRange part = shard_rows(mine.size(), static_cast<int>(microbatches), static_cast<int>(c));
    SliceRows slice = slice_rows(global_rows, {mine.begin + part.begin, mine.begin + part.end}, seed, step, micro);
    PipelineChunk chunk;
    chunk.placeholder = slice.placeholder;
    chunk.row_seeds = std::move(slice.seeds);
    chunk.batch = collate(data, slice.rows, pad_id);
    chunk.bank = make_bank(chunk.batch);
    chunks.push_back(std::move(chunk));
  }
  return chunks;
}

}  // namespace

TrainResult run_training(const Config& config, const std::string& run_dir, const text::Tokenizer& tokenizer,
                         dist::ProcessGrid* grid) {
  const auto started = Clock::now();
  dist::Communicator* world = grid ? &grid->world() : nullptr;
  dist::Communicator* dp = grid ? &grid->dp() : nullptr;
  // ranks / rank: within this stage's data-parallel group (the whole world without a pipeline).
  const int ranks = dp ? dp->size() : 1;
  const int rank = dp ? dp->rank() : 0;
  const int pp = grid ? grid->layout().pp : 1;
  const bool root = !world || world->rank() == 0;
  ELM_CHECK(!run_dir.empty(), "explicitlm train needs a run directory (run.dir)");
  const TrainOptions opt = TrainOptions::from_config(config);
  const std::string model_dir = config.get_string("model.qwen3_model_path");
  ELM_CHECK(!model_dir.empty(), "model.qwen3_model_path is not set (a Hugging Face Qwen3 directory)");
  const auto dtype = model::parse_compute_dtype(config.get_string("model.dtype"));
  auto backbone = std::make_shared<model::Qwen3Model>(model::Qwen3Model::load(model_dir, dtype));
  ELM_CHECK(pp == 1 || opt.stage != Stage::backbone,
            "training.stage = backbone runs without pipeline parallelism: set parallel.pp = 1");
  const dist::ParallelOptions parallel = dist::ParallelOptions::from_config(config);

  DataOptions data_options = DataOptions::from_config(config, DataSplit::train);
  ELM_CHECK(!data_options.path.empty(), "data.train_path is not set (the training JSONL)");
  if (opt.stage == Stage::backbone) {
    ELM_CHECK(data_options.format != DataFormat::router,
              "training.stage = backbone needs text to predict: data.format pretrain, sft or qa, not router");
  } else if (opt.stage == Stage::router) {
    ELM_CHECK(data_options.format == DataFormat::router || data_options.format == DataFormat::qa,
              "training.stage = router needs router targets: data.format = router, or qa records with \"index\"");
  } else {
    ELM_CHECK(data_options.format != DataFormat::router,
              "training.stage = ", stage_name(opt.stage), " trains on next tokens: data.format router has none");
  }
  ELM_CHECK(ranks == 1 || opt.batch_size >= ranks, "training.batch_size = ", opt.batch_size, " is smaller than the ", ranks,
            " data-parallel ranks: the global batch is split across the ranks, so each needs at least one example");
  const Dataset data = Dataset::load(data_options, tokenizer);
  ELM_LOG(info) << "training data " << data.path() << ": " << data.size() << " examples (" << data_format_name(data.format())
                << ")";
  const int32_t pad_id = static_cast<int32_t>(memory::default_pad_id(tokenizer));

  // The checkpoint to resume from, resolved (and verified) by rank 0 for all ranks.
  CheckpointOptions ckpt_options = CheckpointOptions::from_config(config, run_dir);
  Checkpointer checkpointer(ckpt_options);
  const std::string resume_path = agreed_path(world, [&] { return checkpointer.resolve_resume().value_or(""); });

  // The model and what trains.
  TrainingBank training_bank;
  std::shared_ptr<const memory::BankReader> bank;
  std::unique_ptr<memory::ExplicitLM> lm;
  NamedTensors params;
  if (opt.stage == Stage::backbone) {
    ELM_CHECK(!any_overrides(data), "training.stage = backbone has no bank: remove the \"bank\" overrides from ",
              data.path());
    const auto layers = memory::parse_memory_layers(opt.backbone_layers, backbone->config().num_hidden_layers);
    const std::set<int64_t> trained(layers.begin(), layers.end());
    for (const auto& [name, t] : backbone->weights().named_tensors()) {
      const bool table = name == "model.embed_tokens.weight" || name == "lm_head.weight";
      if (table && !opt.train_embeddings) continue;
      // HF names: model.layers.<i>.<...>
      if (name.rfind("model.layers.", 0) == 0) {
        const int64_t layer = std::stoll(name.substr(13, name.find('.', 13) - 13));
        if (!trained.count(layer)) continue;
      }
      t.set_requires_grad(true);
      params.emplace_back(name, t);
    }
    int64_t count = 0;
    for (const auto& p : params) count += p.second.numel();
    ELM_LOG(info) << "backbone stage: " << params.size() << " tensors, " << count << " trainable parameters"
                  << (opt.train_embeddings ? "" : " (embeddings frozen)");
  } else {
    training_bank = load_training_bank(config, tokenizer, world, dp,
                                       ckpt_options.excluded("bank") ? std::string() : resume_path);
    bank = training_bank.reader;
    lm = std::make_unique<memory::ExplicitLM>(memory::ExplicitLM::from_config(config, backbone, bank));
    lm->train();
    params = lm->named_trainable_parameters();
    ELM_LOG(info) << "memory components: " << lm->trainable_parameter_count() << " trainable parameters in "
                  << lm->memory_layers().size() << " memory layer(s)";
  }
  // Pipeline parallelism: this rank runs one stage and trains the memory layers in it.
  PipelineSettings pipeline;
  if (pp > 1) {
    const auto& bc = backbone->config();
    pipeline.partition = dist::make_partition(
        dist::estimate_stage_costs(bc, lm->memory_layers(), bc.hidden_size, std::max<int64_t>(1, data_options.max_length),
                                   loss_token_fraction(data)),
        pp, parallel.stage_layers);
    pipeline.schedule = parallel.schedule;
    pipeline.recompute = parallel.recompute;
    const dist::StageSpan& span = pipeline.partition.stages.at(static_cast<size_t>(grid->stage()));
    params = stage_parameters(*lm, span);
    // The first stage embeds with the token table, the last projects with it (tied lm_head), and
    // every stage's memory layers embed candidates with it: all stages must hold the same values.
    check_parameters_agree(grid->pipeline(), {{"model.embed_tokens.weight", backbone->weights().embed_tokens},
                                              {"lm_head.weight", backbone->weights().output_projection()}},
                           0, "pipeline stages (frozen backbone tables)");
    if (root) {
      ELM_LOG(info) << "pipeline: " << pp << " stages x " << ranks << " data-parallel ranks, schedule "
                    << dist::schedule_name(parallel.schedule) << ", " << parallel.microbatches << " micro-batches"
                    << (parallel.recompute ? ", recomputation" : "") << ": " << pipeline.partition.describe();
    }
    ELM_LOG(info) << "pipeline stage " << grid->stage() << ": decoder layers " << span.first_layer << "-"
                  << span.end_layer - 1 << ", " << params.size() << " trainable tensors";
    if (params.empty()) {
      ELM_LOG(info) << "pipeline stage " << grid->stage() << " has no memory layer: it passes activations and "
                    << "gradients through its frozen layers and trains nothing";
    }
  }
  if (!opt.init_from.empty()) {
    const std::string path = agreed_path(world, [&] { return resolve_checkpoint_path(opt.init_from); });
    load_parameters(params, read_checkpoint(path).parameters, path, /*require_all=*/false);
  }

  Optimizer optimizer(params, opt.adamw);
  DataLoader probe(data, opt.batch_size, pad_id, false);
  const int64_t total_steps = opt.total_steps(probe.batches_per_epoch());
  LrSchedule schedule;
  schedule.peak = opt.adamw.lr;
  schedule.total_steps = total_steps;
  schedule.warmup_steps = std::min<int64_t>(total_steps, std::llround(opt.warmup_ratio * static_cast<double>(total_steps)));
  schedule.min_lr_ratio = opt.min_lr_ratio;
  validate(schedule);

  // Resume: every rank reads its own part (its stage's parameters and their optimizer state), so
  // a checkpoint saved on one grid loads on another.
  int64_t step = 0;
  int64_t tokens_seen = 0;
  DataCursor cursor{0, 0, opt.seed};
  TrainResult result;
  if (!resume_path.empty()) {
    const std::string& path = resume_path;
    CheckpointSelection sel;
    std::set<std::string> mine;
    for (const auto& p : params) mine.insert(p.first);
    sel.parameter = [&](const std::string& name) { return mine.count(name) > 0; };
    sel.optimizer = !ckpt_options.excluded("optimizer");
    sel.bank = false;  // read by load_training_bank
    sel.rank = world ? world->rank() : 0;
    TrainingState state = read_checkpoint_part(path, sel);
    ELM_CHECK(state.stage == stage_name(opt.stage), "checkpoint ", path, " is of stage ", state.stage,
              ", this run trains ", stage_name(opt.stage), " (set checkpoint.resume=none to start fresh)");
    load_parameters(params, state.parameters, path, /*require_all=*/true);
    if (sel.optimizer) optimizer.import_state(state_of(state.optimizer, params));
    step = state.step;
    tokens_seen = state.tokens_seen;
    // The cursor counts global samples (every rank walks the same global order and takes its
    // slice), so it holds for any number of ranks.
    if (!ckpt_options.excluded("cursor")) cursor = state.cursor;
    const int world_size = world ? world->size() : 1;
    if (!ckpt_options.excluded("rng") && state.rng_state.defined() && state.world_size == world_size) {
      auto generator = at::detail::getDefaultCPUGenerator();
      generator.set_state(state.rng_state);
    }
    result.resumed_from = step;
    ELM_LOG(info) << "resumed from " << path << " at step " << step
                  << (state.world_size != world_size ? " (saved by " + std::to_string(state.world_size) + " ranks)" : "")
                  << (ckpt_options.exclude_from_loading.empty() ? "" : ", not loading the excluded parts");
  }
  DataLoader loader(data, opt.batch_size, pad_id, data_options.shuffle, cursor);
  // Rank 0 writes the metrics and checkpoints; every rank holds the same (globally reduced) values.
  std::unique_ptr<MetricsLog> metrics;
  if (root) metrics = std::make_unique<MetricsLog>(run_dir + "/metrics.jsonl", result.resumed_from > 0 ? result.resumed_from : -1);

  // Every rank writes its part of the checkpoint into one file (parallel HDF5): the first DP rank
  // of each stage its stage's parameters and optimizer state, the ranks of stage 0 their rows of
  // the bank, every rank its RNG state.
  auto save = [&](const nlohmann::json& last_line) {
    if (dp) check_parameters_agree(*dp, params, step);
    TrainingState state;
    state.step = step;
    state.tokens_seen = tokens_seen;
    state.stage = stage_name(opt.stage);
    state.config_text = config.to_toml();
    state.cursor = loader.cursor();
    state.schedule = schedule;
    state.rng_state = at::detail::getDefaultCPUGenerator().get_state();
    state.rank = world ? world->rank() : 0;
    state.world_size = world ? world->size() : 1;
    // The metrics line holds this rank's wall clock: rank 0's goes into the file.
    const std::string metrics_text = last_line.is_null() ? "" : last_line.dump();
    state.metrics_json = world ? dist::broadcast_string(*world, metrics_text, 0) : metrics_text;
    if (!dp || dp->rank() == 0) {
      state.parameters = params;
      state.optimizer = optimizer.export_state();
    }
    const bool bank_writer = !grid || grid->stage() == 0;
    if (bank_writer && training_bank.sharded) {
      const auto& sharded = static_cast<const dist::ShardedBankReader&>(*bank);
      const dist::ShardLayout& layout = sharded.layout();
      state.bank = {{"tokens", sharded.local_tokens()}, {"valid", sharded.local_valid()}};
      const int64_t rows = layout.rows_of(dp->rank());
      state.bank_rows = {layout.num_entries(), rows == 0 ? 0 : layout.global_index(dp->rank(), 0),
                         layout.sharding() == dist::BankSharding::kBlock ? 1 : layout.group_size()};
    } else if (bank_writer && bank && root) {
      state.bank = {{"tokens", training_bank.whole.tokens}, {"valid", training_bank.whole.valid}};
    }
    result.checkpoint = checkpointer.save(state, grid ? grid->world_comm() : MPI_COMM_NULL);
    const CheckpointWriteStats& w = checkpointer.last_write();
    ELM_LOG(info) << "checkpoint " << result.checkpoint << ": " << w.datasets << " datasets, " << w.bytes << " bytes in "
                  << w.seconds << " s" << (w.io.independent_writes ? " (some writes were not collective)" : "");
  };

  ELM_LOG(info) << "stage " << stage_name(opt.stage) << ": " << total_steps << " optimizer steps of "
                << opt.grad_accum_steps << " x " << opt.batch_size << " examples"
                << (ranks > 1 ? " (each micro-batch split over " + std::to_string(ranks) + " data-parallel ranks)" : "")
                << (pp > 1 ? " through " + std::to_string(pp) + " pipeline stages" : "")
                << ", lr " << opt.adamw.lr << ", warmup " << schedule.warmup_steps;
  std::unique_ptr<Progress> progress;
  if (root) progress = std::make_unique<Progress>(std::string("train ") + stage_name(opt.stage), total_steps);
  IntervalMeter meter;
  nlohmann::json last_line;
  bool first_logged = false;
  int64_t saved_step = step;
  auto interval_start = Clock::now();
  while (step < total_steps) {
    // Randomness as a function of (seed, step): resume-exact (see trainer.h).
    torch::manual_seed(step_seed(opt.seed, step));
    if (lm) lm->set_selection_seed(step_seed(opt.seed ^ 0x5e1ec7ULL, step));
    optimizer.zero_grad();
    double grad_norm = 0;
    for (int64_t micro = 0; micro < opt.grad_accum_steps; ++micro) {
      // Every rank takes the same global micro-batch and keeps its slice of the rows; a rank left
      // without rows (a short last batch) runs a stand-in that counts for nothing.
      const std::vector<int64_t> global_rows = loader.next_indices();
      if (pp > 1) {
        auto chunks = pipeline_chunks(data, global_rows, ranks, rank, parallel.microbatches, opt.seed, step, micro, pad_id,
                                      [&](const Batch& b) -> std::shared_ptr<const memory::BankReader> {
                                        return std::make_shared<OverlayBankReader>(
                                            bank, batch_overrides(data, b, tokenizer, *bank));
                                      });
        const GlobalCounts counts = count_global(collate(data, global_rows, pad_id));
        PipelineGroups groups{world, &grid->pipeline(), ranks};
        StepLosses losses = pipeline_step(*lm, chunks, counts, opt.stage, opt.weights, groups, pipeline,
                                          1.0 / static_cast<double>(opt.grad_accum_steps));
        ELM_CHECK(std::isfinite(losses.loss), "step ", step, ": the loss is not finite");
        meter.add(losses);
        tokens_seen += losses.tokens;
        continue;
      }
      const RowRange mine = shard_rows(static_cast<int64_t>(global_rows.size()), ranks, rank);
      const SliceRows slice = slice_rows(global_rows, mine, opt.seed, step, micro);
      const GlobalBatch global{dp, slice.placeholder};
      const std::vector<uint64_t>& seeds = slice.seeds;
      Batch batch = collate(data, slice.rows, pad_id);
      StepLosses losses;
      if (lm) {
        auto overrides = batch_overrides(data, batch, tokenizer, *bank);
        auto overlay = std::make_shared<OverlayBankReader>(bank, std::move(overrides));
        lm->set_bank(overlay);
        losses = memory_step_losses(*lm, batch, opt.stage, opt.weights, global, seeds);
        lm->set_bank(bank);
      } else {
        losses = backbone_step_losses(*backbone, batch, global);
      }
      // The global loss: the same on every rank, so every rank stops here together.
      ELM_CHECK(std::isfinite(losses.loss), "step ", step, ": the loss is not finite");
      if (!global.placeholder && losses.total.requires_grad()) {
        (losses.total * (1.0 / static_cast<double>(opt.grad_accum_steps))).backward();
      }
      meter.add(losses);
      tokens_seen += losses.tokens;
    }
    if (ranks > 1) all_reduce_gradients(*dp, params);
    const double max_norm = opt.max_grad_norm > 0 ? opt.max_grad_norm : 1e30;
    if (pp > 1) {
      grad_norm = clip_grad_norm_across_stages(grid->pipeline(), params, max_norm);
    } else {
      grad_norm = clip_grad_norm(optimizer.parameters(), max_norm);
    }
    const double lr = learning_rate_at(step, schedule);
    optimizer.set_learning_rate(lr);
    optimizer.step();
    ++step;
    meter.add("grad_norm", grad_norm);

    if (step % opt.log_interval == 0 || step == total_steps) {
      nlohmann::json line = {{"kind", "train"},     {"step", step}, {"epoch", loader.cursor().epoch}, {"lr", lr},
                             {"wall_s", seconds_since(started)}, {"tokens_seen", tokens_seen}};
      meter.fill(line);
      line["tokens_per_s"] = static_cast<double>(meter.tokens) / std::max(1e-9, seconds_since(interval_start));
      if (metrics) metrics->write(line);
      const double loss = meter.mean("loss");
      if (!first_logged) {
        result.first_loss = loss;
        first_logged = true;
      }
      result.last_loss = loss;
      last_line = line;
      char status[160];
      std::snprintf(status, sizeof status, "loss %.4f lr %.2e", loss, lr);
      if (progress) progress->update(step, status);
      ELM_LOG(debug) << line.dump();
      meter.reset();
      interval_start = Clock::now();
    }
    if (checkpointer.due(step) && step < total_steps) {
      save(last_line);
      saved_step = step;
    }
    // A stop request (signal or time limit) on any rank stops every rank after this step: the
    // ranks agree through one sum, then all save and leave (stop_request.h).
    if (step < total_steps) {
      const bool out_of_time =
          opt.exit_duration_minutes > 0 && seconds_since(started) >= 60.0 * opt.exit_duration_minutes;
      torch::Tensor votes = torch::tensor({stop_signal() != 0 ? 1L : 0L, out_of_time ? 1L : 0L}, torch::kInt64);
      if (world) world->all_reduce_sum(votes);
      if (votes[0].item<int64_t>() > 0 || votes[1].item<int64_t>() > 0) {
        result.stopped = votes[0].item<int64_t>() > 0 ? "signal" : "time_limit";
        break;
      }
    }
  }
  if (progress) progress->finish(!result.stopped.empty() ? "stopped (" + result.stopped + ")" : first_logged ? "done" : "nothing to do");
  if (step != saved_step || result.checkpoint.empty()) save(last_line);
  if (!result.stopped.empty()) {
    // Everything needed to continue is in the checkpoint; evaluation and export wait for the end.
    ELM_LOG(warning) << "stopped at step " << step << " of " << total_steps << " ("
                     << (result.stopped == "signal" ? "signal " + std::to_string(stop_signal()) : "time limit")
                     << "); checkpoint " << result.checkpoint << "; the same command resumes the run";
    result.steps = step;
    result.wall_seconds = seconds_since(started);
    return result;
  }
  if (opt.stage == Stage::backbone) {
    // The backbone is frozen again for evaluation and export.
    for (auto& p : params) p.second.set_requires_grad(false);
  }

  if (opt.stage == Stage::backbone) {
    result.backbone_dir = opt.backbone_out.empty() ? run_dir + "/backbone" : opt.backbone_out;
    if (root) {
      export_backbone(*backbone, model_dir, result.backbone_dir, dtype == torch::kBFloat16 ? "bf16" : "f32");
      ELM_LOG(info) << "backbone written to " << result.backbone_dir;
    }
  }

  // Final evaluation. Generation makes a different number of forward calls on each rank, so a
  // sharded bank is gathered whole first (final_evaluation.h).
  // Every rank evaluates a slice with the whole model: the stages' parameters are shared first.
  if (pp > 1) share_stage_parameters(*world, grid->layout(), pipeline.partition, *lm);
  if (lm && training_bank.sharded) {
    auto [tokens, valid] = gather_bank(*bank);
    lm->set_bank(std::make_shared<memory::LocalBankReader>(tokens, valid, bank->pad_id()));
  }
  nlohmann::json eval =
      final_evaluation(config, lm.get(), *backbone, tokenizer, pad_id, step, data_options.format, world);
  if (!eval.is_null()) {
    if (metrics) metrics->write(eval);
    result.eval = eval;
    ELM_LOG(info) << "evaluation: " << eval.dump();
  }
  result.steps = step;
  result.wall_seconds = seconds_since(started);
  return result;
}

}  // namespace elm::train
