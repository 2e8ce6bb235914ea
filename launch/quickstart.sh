#!/usr/bin/env bash
# The main job on the shipped tiny default. Until the memory demo exists, it shows the backbone
# end to end: build (installing dependencies if needed), write a tiny random Qwen3 in HF layout,
# tokenize a prompt with the real Qwen3 tokenizer, generate from it with the KV cache, check that
# recomputing without the cache gives the same tokens, and print one JSON summary line last.
#
#   launch/quickstart.sh [--seed N] [--workdir DIR] [--prompt TEXT] [--max-new-tokens N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seed=0
workdir="$root/runs/quickstart"
prompt="The capital of France is"
max_new=24

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; }
while (( $# )); do
  case "$1" in
    --seed) seed="${2:?--seed needs a value}"; shift 2 ;;
    --workdir) workdir="${2:?--workdir needs a value}"; shift 2 ;;
    --prompt) prompt="${2:?--prompt needs a value}"; shift 2 ;;
    --max-new-tokens) max_new="${2:?--max-new-tokens needs a value}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "quickstart.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$seed" =~ ^[0-9]+$ ]] || { echo "quickstart.sh: --seed must be a non-negative integer, got '$seed'" >&2; exit 2; }
[[ "$max_new" =~ ^[0-9]+$ ]] || { echo "quickstart.sh: --max-new-tokens must be an integer, got '$max_new'" >&2; exit 2; }
seed=$((10#$seed))
max_new=$((10#$max_new))

start=$(date +%s.%N)  # wall time of the whole demo, build included
BUILD_TARGETS=explicitlm bash "$root/tools/build.sh" >&2
bin="${BUILD_DIR:-$root/build}/bin/explicitlm"
mkdir -p "$workdir"
model="$workdir/qwen3-tiny-seed$seed"

echo "== 1. tiny Qwen3 (random weights, HF layout) -> $model" >&2
"$bin" make-tiny-qwen3 --out "$model" --seed "$seed" >&2

echo "== 2. tokenize: $prompt" >&2
prompt_ids=$("$bin" tokenize --tokenizer "$model" --text "$prompt")
echo "$prompt_ids" >&2

echo "== 3. generate $max_new tokens (greedy, KV cache); run directory $workdir/run-seed$seed" >&2
gen=$("$bin" generate --config "$root/configs/tiny.toml" --model "$model" --prompt "$prompt" \
        --max-new-tokens "$max_new" --greedy --ignore-eos --print-ids run.dir="$workdir/run-seed$seed")
echo "$gen" | sed '$d' >&2
ids_cache=$(echo "$gen" | tail -n 1)

echo "== 4. the same without the KV cache (recomputes the whole sequence each step)" >&2
ids_nocache=$("$bin" generate --config "$root/configs/tiny.toml" --model "$model" --prompt "$prompt" \
        --max-new-tokens "$max_new" --greedy --ignore-eos --print-ids --no-kv-cache --no-stream | tail -n 1)
same=false
[[ "$ids_cache" == "$ids_nocache" ]] && same=true

wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
model_json=${model//\\/\\\\}
model_json=${model_json//\"/\\\"}
printf '{"demo":"qwen3_backbone","seed":%s,"prompt_ids":%s,"generated_ids":%s,"kv_cache_equals_recompute":%s,"model_dir":"%s","wall_seconds":%.1f}\n' \
  "$seed" "$prompt_ids" "$ids_cache" "$same" "$model_json" "$wall"
[[ "$same" == true ]]
