#!/usr/bin/env bash
# The knowledge demo on the shipped tiny default: proves with numbers that the model reads its
# knowledge from the memory bank (docs/demo.md).
#
#   launch/quickstart.sh [--seed N] [--workdir DIR] [--fast] [--ranks R] [--pp P]
#
#  1. a tiny Qwen3 made by the project (random weights, the real Qwen3 tokenizer)
#  2. synthetic knowledge (explicitlm synth): bank entities, a disjoint entity set, questions
#  3. stage backbone: the backbone learns language and the question format on the disjoint set only
#  4. the bank is built from the target facts (they appear nowhere in training text)
#  5. stage router, then stage joint with counterfactual bank contents (the answer follows the bank)
#  6. explicitlm eval: accuracy with the bank, with every entry invalid, after editing entries, and
#     after the inference dual path read changed facts (similarity) and new entities' facts (route)
# The last stdout line is one JSON object. --fast runs a much shorter schedule (for tests; its
# accuracy is not meaningful). --ranks R trains every stage data-parallel on R MPI ranks
# (launch/train.sh; the same global batches as one process); --pp P splits the memory stages'
# model into P pipeline stages of R/P data-parallel ranks each (the backbone stage stays
# data-parallel).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seed=0
workdir="$root/build/demo"
fast=false
ranks=1
pp=1

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
while (( $# )); do
  case "$1" in
    --seed) seed="${2:?--seed needs a value}"; shift 2 ;;
    --workdir) workdir="${2:?--workdir needs a value}"; shift 2 ;;
    --fast) fast=true; shift ;;
    --ranks) ranks="${2:?--ranks needs a value}"; shift 2 ;;
    --pp) pp="${2:?--pp needs a value}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "quickstart.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$seed" =~ ^[0-9]+$ ]] || { echo "quickstart.sh: --seed must be a non-negative integer, got '$seed'" >&2; exit 2; }
seed=$((10#$seed))
[[ "$ranks" =~ ^[1-9][0-9]*$ ]] || { echo "quickstart.sh: --ranks must be a positive integer, got '$ranks'" >&2; exit 2; }
[[ "$pp" =~ ^[1-9][0-9]*$ ]] && (( ranks % pp == 0 )) ||
  { echo "quickstart.sh: --pp must be a positive integer dividing --ranks ($ranks), got '$pp'" >&2; exit 2; }

# The schedule (steps per stage, sizes). --fast: a smoke run of the same pipeline.
entities=1000; disjoint=300; backbone_steps=300; router_steps=1500; joint_steps=800; eval_entities=300; ingest=50
if $fast; then
  entities=64; disjoint=16; backbone_steps=4; router_steps=4; joint_steps=4; eval_entities=8; ingest=4
fi

start=$(date +%s.%N)  # wall time of the whole demo, build included
BUILD_TARGETS=explicitlm bash "$root/tools/build.sh" >&2
bin="${BUILD_DIR:-$root/build}/bin/explicitlm"
work="$workdir/seed$seed"
rm -rf "$work"
mkdir -p "$work"
cfg=(--config "$root/configs/tiny.toml" runtime.seed="$seed" logging.level=warning)
# explicitlm train with the demo's config: one process, or --ranks data-parallel ranks.
train() {
  if (( ranks > 1 )); then
    bash "$root/launch/train.sh" -n "$ranks" "$root/configs/tiny.toml" runtime.seed="$seed" logging.level=warning "$@"
  else
    "$bin" train "${cfg[@]}" "$@"
  fi
}

echo "== 1. tiny Qwen3 (random weights, HF layout) -> $work/base-model" >&2
"$bin" make-tiny-qwen3 --out "$work/base-model" --seed "$seed" --dtype f32 \
  --hidden-size 128 --intermediate-size 384 --layers 4 --heads 4 --kv-heads 2 --head-dim 32 --embed-std 0.1 >&2

echo "== 2. synthetic knowledge -> $work/data" >&2
"$bin" synth --out "$work/data" --seed "$seed" --entities "$entities" --disjoint-entities "$disjoint" \
  --counterfactuals 1 --train-variants 4 >&2

echo "== 3. stage backbone: the question format and reading facts, on the disjoint entities only" >&2
# Layer 0 stays as initialised: the memory reads its output, which a trained tiny layer 0 turns into
# a large activation shared by every token (docs/demo.md).
train --stage backbone --run-dir "$work/runs/backbone" \
  model.qwen3_model_path="$work/base-model" data.train_path="$work/data/backbone_train.jsonl" data.format=qa \
  training.batch_size=32 training.learning_rate=3e-3 training.max_steps="$backbone_steps" \
  training.weight_decay=0 training.backbone_layers=1,2,3 | tail -n 1 >&2
backbone="$work/runs/backbone/backbone"

echo "== 4. the bank: the target facts (knowledge_num 4096 = 64 x 64)" >&2
mem=(model.qwen3_model_path="$backbone" model.database_init_path="$work/data/knowledge.json"
     model.cache_path="$work/bank.h5" parallel.pp="$pp")

echo "== 5a. stage router: questions and facts -> their entry" >&2
train "${mem[@]}" --stage router --run-dir "$work/runs/router" \
  data.train_path="$work/data/router_train.jsonl" data.format=router \
  training.batch_size=64 training.learning_rate=1e-2 training.max_steps="$router_steps" model.dropout=0 \
  | tail -n 1 >&2

echo "== 5b. stage joint: counterfactual bank contents, the answer follows the bank" >&2
train "${mem[@]}" --stage joint --run-dir "$work/runs/joint" \
  data.train_path="$work/data/memory_train.jsonl" data.format=qa training.init_from="$work/runs/router" \
  training.batch_size=32 training.learning_rate=2e-3 training.max_steps="$joint_steps" \
  training.router_weight=1.0 | tail -n 1 >&2

echo "== 6. evaluation on a fresh sample (seed $seed): with bank, emptied bank, edited entries," >&2
echo "      then facts read through the inference dual path (changed facts; never-seen entities)" >&2
result=$("$bin" eval --run "$work/runs/joint" --seed "$seed" eval.synth_dir="$work/data" \
  eval.entities="$eval_entities" eval.max_new_tokens=2 eval.ingest_facts="$ingest" \
  eval.ingest_new_entities="$ingest" logging.level=warning | tail -n 1)

plots=$("$root/tools/plot-metrics" "$work/runs/joint" 2>/dev/null | tr '\n' ' ' || true)
echo "plots: $plots" >&2
wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
steps=$((backbone_steps + router_steps + joint_steps))
# The evaluation's JSON object (its "steps" is the joint run's; the demo reports all stages) plus the demo's fields.
result=$(echo "$result" | sed -E 's/"steps":[0-9]+,//')
echo "${result%\}},\"demo\":\"knowledge_bank\",\"steps\":$steps,\"steps_backbone\":$backbone_steps,\"steps_router\":$router_steps,\"steps_joint\":$joint_steps,\"ranks\":$ranks,\"pp\":$pp,\"wall_seconds\":$wall,\"workdir\":\"$work\"}"
