#!/usr/bin/env bash
# Tests launch/sweep.sh on this machine (ctest: scripts_sweep_local): a 2-run grid trains both runs
# in their own directories with their own resolved configs and ends with the comparison table and
# charts; a failing run does not stop the others and makes the exit status 1; --dry-run runs
# nothing; --slurm --dry-run prints the job array it would submit; a bad sweep file stops before
# any run.
#   tests/scripts/test_sweep_local.sh EXPLICITLM_BINARY
set -euo pipefail
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
bin="$(realpath "${1:?usage: test_sweep_local.sh EXPLICITLM_BINARY}")"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/elm-sweep-local.XXXXXX")"
trap '[[ "${ELM_KEEP_TEST_DIR:-0}" == 1 ]] || rm -rf "$work"' EXIT
export ELM_BIN="$bin"
failures=0
pass() { echo "ok: $*"; }
fail() { echo "FAILED: $*" >&2; failures=$((failures + 1)); }
expect_eq() { if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi; }
expect_contains() { if [[ "$3" == *"$2"* ]]; then pass "$1"; else fail "$1: [$2] not in: $3"; fi; }
sweep() { bash "$root/launch/sweep.sh" "$@"; }

"$bin" make-tiny-qwen3 --out "$work/model" --hidden-size 32 --intermediate-size 64 --layers 2 --heads 2 \
  --kv-heads 1 --head-dim 16 --dtype f32 > /dev/null 2>&1
"$bin" synth --out "$work/data" --seed 3 --entities 20 --disjoint-entities 6 --counterfactuals 1 \
  --train-variants 1 > /dev/null 2>&1
cat > "$work/base.toml" <<EOF
[model]
qwen3_model_path = "$work/model"
database_init_path = "$work/data/knowledge.json"
cache_path = "$work/bank.h5"
knowledge_num = 64
num_candidates_internal = 8
num_candidates = 4
[data]
train_path = "$work/data/memory_train.jsonl"
format = "qa"
[training]
stage = "joint"
batch_size = 4
max_steps = 4
log_interval = 1
[logging]
level = "warning"
EOF
cat > "$work/lr.toml" <<EOF
[sweep]
name = "lr"
base = "$work/base.toml"
out_dir = "$work/lr"
[grid]
"training.learning_rate" = [1e-3, 4e-3]
EOF

# --dry-run: the two train commands, nothing created.
out="$(sweep "$work/lr.toml" --dry-run 2>/dev/null)"
expect_eq "dry run prints one command per run" 2 "$(grep -c " train " <<< "$out")"
expect_contains "dry run names run 1's directory" "run.dir=$work/lr/learning_rate-0.004" "$out"
[[ ! -e "$work/lr" ]] && pass "dry run creates nothing" || fail "dry run created $work/lr"
out="$(sweep "$work/lr.toml" --slurm --dry-run --sbatch "--ntasks=2 --time=1:00:00" -- training.max_steps=2 2>/dev/null)"
expect_contains "--slurm --dry-run: the job array" "sbatch --parsable --array=0-1 --ntasks=2 --time=1:00:00 $root/slurm/sweep.sbatch $work/lr.toml training.max_steps=2" "$out"
expect_contains "--slurm --dry-run: the comparison job after it" "--dependency=afterany:<array job>" "$out"
out="$(sweep "$work/lr.toml" --slurm --dry-run --sbatch "--array=0-1%1" 2>/dev/null)"
expect_contains "an --array in --sbatch replaces the default" "sbatch --parsable --array=0-1%1 $root" "$out"

# The sweep: both runs, then the table.
rc=0
sweep "$work/lr.toml" -- training.log_interval=2 > "$work/lr.out" 2> "$work/lr.err" || rc=$?
expect_eq "the sweep exits 0" 0 "$rc"
for r in learning_rate-0.001 learning_rate-0.004; do
  [[ -s "$work/lr/$r/metrics.jsonl" ]] && pass "$r trained" || fail "$r has no metrics: $(tail -n 5 "$work/lr.err")"
done
expect_eq "each run has its own resolved config" 0.004 \
  "$("$bin" config --config "$work/lr/learning_rate-0.004/config.resolved.toml" --get training.learning_rate)"
expect_eq "overrides after -- reach every run" 2 \
  "$("$bin" config --config "$work/lr/learning_rate-0.001/config.resolved.toml" --get training.log_interval)"
expect_eq "the run name is sweep/run" lr/learning_rate-0.001 \
  "$("$bin" config --config "$work/lr/learning_rate-0.001/config.resolved.toml" --get run.name)"
expect_eq "runs.jsonl lists the runs" 2 "$(wc -l < "$work/lr/runs.jsonl")"
expect_contains "the table is printed" "runs sorted by train/loss, ascending" "$(cat "$work/lr.out")"
expect_contains "the table names the grid key" "training.learning_rate" "$(cat "$work/lr.out")"
[[ -s "$work/lr/compare/train-loss.png" ]] && pass "the charts are in out_dir/compare" || fail "no $work/lr/compare/train-loss.png"

# A failing run: the other one still trains; exit 1 names the failed run.
cat > "$work/bad.toml" <<EOF
[sweep]
base = "$work/base.toml"
out_dir = "$work/bad"
[grid]
"data.train_path" = ["$work/none.jsonl", "$work/data/memory_train.jsonl"]
EOF
rc=0
sweep "$work/bad.toml" > "$work/bad.out" 2> "$work/bad.err" || rc=$?
expect_eq "a failed run makes the exit status 1" 1 "$rc"
expect_contains "the failed run is named" "sweep.sh: failed: 0 " "$(cat "$work/bad.err")"
run1="$(ls -d "$work"/bad/*memory_train.jsonl)"
[[ -s "$run1/metrics.jsonl" ]] && pass "the run after the failed one trained" || fail "run 1 did not train"
expect_contains "the comparison leaves out the failed run" "no metrics.jsonl (the run failed or has not started); left out" "$(cat "$work/bad.err")"
expect_eq "the table has one row: the run that trained" 1 "$(grep -c '^[0-9]  train_path-' "$work/bad.out")"

# A bad sweep file: nothing runs.
printf '[grid]\n"training.learnig_rate" = [1]\n' > "$work/typo.toml"
rc=0
out="$(sweep "$work/typo.toml" 2>&1)" || rc=$?
expect_eq "a bad sweep file: exit 1" 1 "$rc"
expect_contains "a bad sweep file: the reason" "typo.toml:2: [grid]: unknown config key 'training.learnig_rate'" "$out"
[[ ! -e "$root/runs/typo" ]] && pass "a bad sweep file runs nothing" || fail "runs/typo was created"
rc=0; sweep > /dev/null 2>&1 || rc=$?
expect_eq "no sweep file: exit 2" 2 "$rc"
rc=0; sweep "$work/lr.toml" --ranks 0 > /dev/null 2>&1 || rc=$?
expect_eq "a bad --ranks: exit 2" 2 "$rc"
expect_contains "--help" "launch/sweep.sh SWEEP.toml" "$(sweep --help)"

if (( failures )); then echo "$failures check(s) failed" >&2; exit 1; fi
echo "all checks passed"
