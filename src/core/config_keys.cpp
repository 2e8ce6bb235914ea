// The central table of config keys. Every key the program reads is registered here, once, with its
// type, default and one-line help. docs/config-reference.md is generated from this table (a unit
// test fails while it differs). To add a key: add a row in its section (or a new section at the
// end), read it with Config::get_*, run tools/gen-config-reference, and explain in docs/config.md
// what does not fit in the help text.
#include "core/config_schema.h"

namespace elm {

void register_builtin_config_keys(ConfigSchema& s) {
  // [model] — the frozen backbone.
  s.add(key_string("model.qwen3_model_path", "",
                   "Hugging Face Qwen3 model directory (config.json, *.safetensors, tokenizer)"));
  s.add(key_string("model.dtype", "float32", "Weight and compute dtype")
            .one_of({"float32", "bfloat16"}));

  // [model] — the explicit memory (names follow the reference implementation).
  s.add(key_int("model.knowledge_num", 1048576, "Memory bank entries N (a perfect square: the product-key grid)")
            .at_least(1));
  s.add(key_int("model.knowledge_length", 16, "Token ids per bank entry L").at_least(1));
  s.add(key_int("model.knowledge_dim", 128, "Router key dimension (split in two halves)").at_least(2));
  s.add(key_int("model.num_candidates", 8, "Candidate entries the router returns per query").at_least(1));
  s.add(key_int("model.num_candidates_internal", 32,
                "Top keys kept per half before the Cartesian product (>= num_candidates when squared)")
            .at_least(1));
  s.add(key_int("model.num_selected", 1, "Entries selected per token among the candidates").at_least(1));
  s.add(key_float("model.gumbel_temperature", 1.0, "Gumbel-softmax temperature of the training selection")
            .greater_than(0));
  s.add(key_float("model.freeze_ratio", 0.2, "Leading fraction of the bank that inference updates never overwrite")
            .at_least(0)
            .at_most(1));
  s.add(key_string("model.cache_path", "", "Bank file (HDF5) reused when its inputs are unchanged; empty = none"));
  s.add(key_bool("model.recompute_cache", false, "Rebuild the bank file even when model.cache_path is current"));
  s.add(key_string("model.database_init_path", "", "Knowledge base (JSON, TREx JSON or JSONL) the bank is built from"));
  s.add(key_int("model.gate_rank", 0, "Router LoRA rank; 0 = full linear layers").at_least(0));
  s.add(key_int("model.fusion_rank", 0, "Fusion LoRA rank; 0 = full projections").at_least(0));
  s.add(key_string("model.keys_path", "", "Router keys loaded frozen from this safetensors file; empty = random, trained"));
  s.add(key_float("model.dropout", 0.1, "Dropout in the router's residual blocks and the fusion").at_least(0).less_than(1));

  // [memory] — where and how memory layers read the bank.
  s.add(key_string("memory.layers", "all", "Decoder layers followed by a memory layer: \"all\" or a list like \"0,5\""));
  s.add(key_string("memory.query_pooling", "causal_prefix",
                   "Router query: mean over positions <= t (no leak), over the whole sequence (reference), or a "
                   "learned-weight mean over positions <= t")
            .one_of({"causal_prefix", "sequence_mean", "weighted_prefix"}));
  s.add(key_string("memory.selection", "cosine",
                   "How one candidate is chosen: cosine(h_mem, candidate) or a learned content matcher")
            .one_of({"cosine", "learned"}));
  s.add(key_bool("memory.selection_add_router_score", false,
                 "Learned selection: add the router's candidate score to the matcher's"));
  s.add(key_bool("memory.normalize_selected", false, "RMS-normalise the selected memory before the fusion"));

  // [runtime] — process-wide settings.
  s.add(key_int("runtime.threads", 0,
                "CPU threads per process; 0 = OMP_NUM_THREADS if set, else all available cores")
            .at_least(0)
            .at_most(4096));
  s.add(key_int("runtime.seed", 42, "Random seed (sampling, initialisation, data order)"));

  // [logging]
  s.add(key_string("logging.level", "info", "Console log level (rank 0 only, on stderr)")
            .one_of({"trace", "debug", "info", "warning", "error"}));
  s.add(key_string("logging.file_level", "debug", "Log level of the per-rank file RUN/logs/rankN.log")
            .one_of({"trace", "debug", "info", "warning", "error"}));
  s.add(key_bool("logging.all_ranks_console", false,
                 "Every rank logs to the console, not only rank 0"));

  // [run] — where a run keeps its files.
  s.add(key_string("run.dir", "",
                   "Run directory (config.resolved.toml, logs/); empty = no run directory"));
  s.add(key_string("run.name", "", "Human-readable run name, recorded with the run"));

  // [generation] — text generation (explicitlm generate / chat).
  s.add(key_int("generation.max_new_tokens", 64, "Maximum number of tokens to generate")
            .at_least(0));
  s.add(key_bool("generation.greedy", false,
                 "Greedy decoding (argmax); ignores temperature, top_p and top_k"));
  s.add(key_float("generation.temperature", 0.6, "Sampling temperature; 0 = greedy").at_least(0));
  s.add(key_float("generation.top_p", 0.95, "Nucleus sampling: smallest token set with this mass")
            .greater_than(0)
            .at_most(1));
  s.add(key_int("generation.top_k", 20, "Sample from the k most likely tokens; 0 = no limit")
            .at_least(0));
  s.add(key_float("generation.repetition_penalty", 1.0,
                  "Penalty on tokens already generated (HF semantics); 1 = off")
            .greater_than(0));
  s.add(key_bool("generation.use_kv_cache", true,
                 "Reuse attention keys/values across steps (false recomputes the whole prefix)"));
  s.add(key_bool("generation.chat", false, "Wrap the prompt in the model's chat template"));
  s.add(key_bool("generation.enable_thinking", false,
                 "Chat template: let the model emit a <think> block first"));
  s.add(key_int("generation.batch_size", 8, "Prompts generated together per rank (explicitlm generate --prompts)")
            .at_least(1));
  s.add(key_bool("generation.use_memory", true,
                 "A memory model reads its bank while generating (false: the backbone alone)"));

  // [data] — training data (docs/training-data.md).
  s.add(key_string("data.train_path", "", "Training data file (JSONL in data.format)"));
  s.add(key_string("data.eval_path", "", "Evaluation data file (JSONL in data.format); empty = none"));
  s.add(key_string("data.format", "pretrain", "Record format of the data files")
            .one_of({"pretrain", "sft", "router", "qa"}));
  s.add(key_int("data.max_length", 512, "Tokens per example; longer examples are truncated").at_least(2));
  s.add(key_bool("data.skip_bad_lines", false, "Skip and count malformed lines instead of failing"));
  s.add(key_bool("data.shuffle", true, "Shuffle the examples each epoch (seed: runtime.seed)"));
  s.add(key_bool("data.wrap_chat_template", true,
                 "Pretrain text as an assistant turn of the chat template (as the reference does)"));

  // [training] — explicitlm train (docs/training.md).
  s.add(key_string("training.stage", "joint",
                   "What trains: router (soft labels), fusion (CE), joint (CE + sim + div) or backbone (demos)")
            .one_of({"router", "fusion", "joint", "backbone"}));
  s.add(key_int("training.batch_size", 8, "Examples per micro-batch").at_least(1));
  s.add(key_int("training.grad_accum_steps", 1, "Micro-batches per optimizer step").at_least(1));
  s.add(key_int("training.epochs", 1, "Passes over data.train_path (ignored when training.max_steps > 0)")
            .at_least(1));
  s.add(key_int("training.max_steps", 0, "Optimizer steps to run; 0 = as many as training.epochs take").at_least(0));
  s.add(key_float("training.learning_rate", 1e-3, "Peak AdamW learning rate").greater_than(0));
  s.add(key_float("training.min_lr_ratio", 0.1, "Cosine decay floor as a fraction of the peak").at_least(0).at_most(1));
  s.add(key_float("training.warmup_ratio", 0.05, "Linear warmup as a fraction of the optimizer steps")
            .at_least(0)
            .at_most(1));
  s.add(key_float("training.weight_decay", 0.01, "AdamW decoupled weight decay").at_least(0));
  s.add(key_float("training.adam_beta1", 0.9, "AdamW beta1").at_least(0).less_than(1));
  s.add(key_float("training.adam_beta2", 0.999, "AdamW beta2").at_least(0).less_than(1));
  s.add(key_float("training.max_grad_norm", 1.0, "Clip the gradient norm to this; 0 = no clipping").at_least(0));
  s.add(key_float("training.ce_weight", 1.0, "Weight of the next-token cross-entropy (fusion, joint)").at_least(0));
  s.add(key_float("training.similarity_weight", 0.1, "Weight of the similarity loss (joint)").at_least(0));
  s.add(key_float("training.diversity_weight", 0.05, "Weight of the diversity loss (joint)").at_least(0));
  s.add(key_float("training.router_weight", 0.0,
                  "Weight of the router soft-label loss added in fusion/joint when examples name their entry")
            .at_least(0));
  s.add(key_float("training.router_temperature", 1.0, "Temperature of the router soft labels").greater_than(0));
  s.add(key_string("training.init_from", "",
                   "Initialise the memory components from this checkpoint (file or run directory) before step 0"));
  s.add(key_int("training.log_interval", 10, "Optimizer steps between metrics lines").at_least(1));
  s.add(key_float("training.exit_duration_minutes", 0.0,
                  "Save a checkpoint and exit (code 3) once the run has taken this many minutes; 0 = never")
            .at_least(0.0));
  s.add(key_bool("training.requeue_on_stop", true,
                 "Under Slurm (SLURM_JOB_ID set), rank 0 runs `scontrol requeue` after a stop by signal or time limit"));
  s.add(key_bool("training.train_embeddings", true,
                 "Backbone stage: also train the token embedding and lm_head (false: only the decoder layers and norms)"));
  s.add(key_string("training.backbone_layers", "all",
                   "Backbone stage: decoder layers that train, \"all\" or a list like \"1,2,3\" (the others stay as loaded)"));
  s.add(key_string("training.backbone_out", "",
                   "Backbone stage: write the trained model directory here; empty = RUN/backbone"));

  // [checkpoint] — checkpoints of the trainable state (docs/checkpoints.md).
  s.add(key_int("checkpoint.interval", 0, "Optimizer steps between checkpoints; 0 = only at the end").at_least(0));
  s.add(key_int("checkpoint.keep_latest_k", 2, "Newest checkpoints kept (older ones are deleted)").at_least(2));
  s.add(key_string("checkpoint.resume", "auto",
                   "auto (newest complete checkpoint in the run, else start fresh), none, a step number or a path"));
  s.add(key_string("checkpoint.dir", "", "Checkpoint directory; empty = RUN/checkpoints"));
  s.add(key_string_list("checkpoint.exclude_from_loading", {},
                        "Parts a resume does not load: cursor, optimizer, rng, bank (the parameters always load)"));
  s.add(key_bool("checkpoint.verify_on_resume", true,
                 "Recompute the checksums of the checkpoint a resume loads; resume=auto skips a damaged one"));

  // [eval] — evaluation (explicitlm eval, and at the end of explicitlm train).
  s.add(key_string("eval.qa_path", "", "QA JSONL ({\"prompt\", \"answer\"}) for generative accuracy; empty = none"));
  s.add(key_string("eval.judge", "startswith", "How a generated answer is judged")
            .one_of({"exact", "contains", "startswith", "endswith"}));
  s.add(key_int("eval.max_new_tokens", 4, "Tokens generated per QA answer").at_least(1));
  s.add(key_int("eval.max_examples", 0, "Evaluate at most this many examples per set; 0 = all").at_least(0));
  s.add(key_int("eval.batch_size", 32, "Examples per evaluation batch").at_least(1));
  s.add(key_int("eval.recall_k", 8, "Router recall@k: the target entry among the top k candidates").at_least(1));
  s.add(key_string("eval.synth_dir", "",
                   "explicitlm synth output the bank was built from: enables the knowledge evaluation (with/without bank, edits)"));
  s.add(key_int("eval.entities", 300, "Knowledge evaluation: entities asked about (0 = all)").at_least(0));
  s.add(key_float("eval.edit_fraction", 0.5, "Knowledge evaluation: fraction of those entities whose entry is edited")
            .greater_than(0)
            .at_most(1));
  s.add(key_int("eval.ingest_facts", 0,
                "Ingest evaluation: changed facts of bank entities read through the dual path (similarity policy); 0 = skip")
            .at_least(0));
  s.add(key_int("eval.ingest_changed_attributes", 1, "Ingest evaluation: values each changed fact changes (of 3)")
            .at_least(1)
            .at_most(3));
  s.add(key_int("eval.ingest_new_entities", 0,
                "Ingest evaluation: facts of never-seen entities read through the dual path (route policy); 0 = skip")
            .at_least(0));

  // [parallel] — the process grid and communication (docs/distributed.md).
  s.add(key_int("parallel.pp", 1, "Pipeline stages: the backbone's layers (with their memory layers) split into this many contiguous stages").at_least(1));
  s.add(key_int("parallel.dp", 0, "Data-parallel ranks per stage; 0 = MPI world size / parallel.pp").at_least(0));
  s.add(key_float("parallel.timeout_seconds", 600.0,
                  "A blocking communication that takes longer aborts the job, naming the operation and rank")
            .greater_than(0));
  s.add(key_float("parallel.bucket_mb", 25.0, "All-reduce bucket size in MiB (gradients are packed into buckets)")
            .greater_than(0));
  s.add(key_string("parallel.backend", "auto",
                   "Communication backend: auto (NCCL for CUDA tensors when built with NCCL, else MPI), mpi or nccl")
            .one_of({"auto", "mpi", "nccl"}));
  s.add(key_string("parallel.bank_sharding", "block",
                   "Which bank entries each rank of a DP group holds: block (contiguous ranges) or cyclic (index % g)")
            .one_of({"block", "cyclic"}));
  s.add(key_string("parallel.schedule", "1f1b",
                   "Pipeline schedule (parallel.pp > 1): gpipe (all forwards, then all backwards) or 1f1b (one forward, "
                   "one backward: at most pp micro-batches of activations held)")
            .one_of({"gpipe", "1f1b"}));
  s.add(key_int("parallel.microbatches", 4,
                "Pipeline micro-batches per training micro-batch (parallel.pp > 1): each rank's rows are split into this "
                "many chunks that flow through the stages; the bubble is (pp-1)/(microbatches+pp-1)")
            .at_least(1));
  s.add(key_string("parallel.stage_layers", "",
                   "Decoder layers per pipeline stage, comma-separated (\"10,12,14\"); \"\" = balanced by estimated cost"));
  s.add(key_bool("parallel.recompute", false,
                 "Pipeline stages keep only each chunk's input and recompute the forward pass before its backward "
                 "(less activation memory, about one more forward pass of time)"));

  // [extractor] — the fact extractor's compressor at inference (docs/extractor.md).
  s.add(key_string("extractor.kind", "llmlingua2",
                   "How input text is compressed before it is split into facts: llmlingua2 (an LLMLingua-2 token "
                   "classifier from extractor.model_path; a missing model is an error) or passthrough (the text "
                   "unchanged, for users without the model; never chosen unless asked for)")
            .one_of({"passthrough", "llmlingua2"}));
  s.add(key_string("extractor.model_path", "",
                   "LLMLingua-2 token classifier directory (config.json, model.safetensors, tokenizer files)"));
  s.add(key_float("extractor.rate", 0.4, "Fraction of the words LLMLingua-2 keeps (the threshold uses 1 - rate)")
            .at_least(0.01)
            .less_than(1));
  s.add(key_string_list("extractor.force_tokens", {"\n", ".", "!", "?", ",", ":", ";"},
                        "Tokens always kept (probability 1); one that is not a single token is replaced by [NEWi], i its index"));
  s.add(key_string_list("extractor.chunk_end_tokens", {".", "\n", "!", "?"},
                        "Tokens a 510-token chunk may end at (the last one before the limit)"));
  s.add(key_bool("extractor.drop_consecutive", true,
                 "Drop a force token that repeats the previous one with no kept word in between"));
  s.add(key_int("extractor.max_batch_size", 50, "Chunks per classifier forward pass").at_least(1));

  // [inference] — bank updates (docs/bank-updates.md); the frozen share is model.freeze_ratio.
  s.add(key_string("inference.update_policy", "fifo",
                   "Which writable bank entry a new fact replaces: fifo (a ring), lru, random (seeded by runtime.seed), "
                   "similarity (the most similar entry above the threshold, else the oldest), importance (fewest "
                   "retrievals) or route (among the fact's own router candidates)")
            .one_of({"fifo", "lru", "random", "similarity", "importance", "route"}));
  s.add(key_float("inference.similarity_threshold", 0.9,
                  "Similarity policy: replace the most similar entry when the cosine of the candidate embeddings is at "
                  "least this, else the oldest entry")
            .at_least(-1)
            .at_most(1));
  s.add(key_int("inference.route_candidates", 8,
                "Route policy: how many of the fact's writable router candidates (best first) it may be written to")
            .at_least(1));
  s.add(key_int("inference.min_fact_chars", 10, "Facts split from text are kept when longer than this many characters")
            .at_least(0));
  s.add(key_int("inference.update_interval", 1,
                "Bank updates are written on every k-th submission (facts queue in between); 1 = every time")
            .at_least(1));
  s.add(key_int("inference.lsh_tables", 12, "Similarity policy: LSH hash tables").at_least(1).at_most(64));
  s.add(key_int("inference.lsh_bits", 0,
                "Similarity policy: hyperplanes (bits) per LSH table; 0 = round(log2(writable entries / 16))")
            .at_least(0)
            .at_most(20));
  s.add(key_int("inference.lsh_probes", 4,
                "Similarity policy: buckets visited per table on average (tables * probes in all: each table's own, "
                "then the most likely neighbours; multi-probe)")
            .at_least(1));
  s.add(key_int("inference.lsh_max_candidates", 2048,
                "Similarity policy: bucket slots read per fact at most (ranked by the distance of their hash signatures)")
            .at_least(1));
  s.add(key_int("inference.lsh_rerank", 8,
                "Similarity policy: entries whose exact cosine is computed per fact (the closest by signature)")
            .at_least(1));
  // [inference] — the dual path of generate / chat (docs/inference.md).
  s.add(key_bool("inference.dual_path", false,
                 "generate / chat: the auxiliary path reads each request's text into facts and writes them into the bank"));
  s.add(key_bool("inference.keep_questions", false,
                 "Dual path: keep sentences that end in '?' as facts (by default a question is not a fact)"));
  s.add(key_bool("inference.verify_replicas", true,
                 "Dual path on several ranks: compare bank checksums across ranks after every update (a mismatch stops the job)"));
  s.add(key_int("inference.verify_full_every", 64,
                "Dual path with verify_replicas: every this many rounds (and after the last) each rank recomputes its "
                "bank's checksum from "
                "all N entries, which catches a change made outside the updater; 0 = only after the last round. "
                "Between them the checksum follows the writes (O(writes), not O(N))")
            .at_least(0));
  s.add(key_string("inference.bank_out", "", "Dual path: save the updated bank to this HDF5 file at the end; empty = do not"));
}

}  // namespace elm
