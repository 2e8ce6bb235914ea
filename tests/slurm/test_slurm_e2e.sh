#!/usr/bin/env bash
# The end-to-end Slurm test (ctest: slurm_e2e, label slurm): a real slurmctld + slurmd + munged on
# this machine (tests/slurm/local_cluster.sh), then, with the project's job scripts:
#  1. slurm/train.sbatch, 2 tasks, srun --mpi=pmix: an uninterrupted reference run;
#  2. the same run preempted twice: SIGUSR1 to the job shell (what --signal=B:USR1@N sends; the
#     ranks save, exit 3, rank 0 requeues), then `scontrol requeue` from outside (Slurm's SIGTERM);
#     the job must be requeued each time (SLURM_RESTART_COUNT 1, 2), resume from the checkpoint it
#     saved and end with the reference run's metrics at every step;
#  3. launch/sweep.sh --slurm: a 2-task job array and the comparison job after it (table, charts);
#  4. the mpirun fallback (ELM_LAUNCHER=mpirun) and slurm/infer.sbatch.
# Without root or the Slurm packages, or when the daemons do not come up, it prints why and exits
# 77 (ctest: skipped); with ELM_REQUIRE_SLURM=1 (.ci/run sets it) that is a failure instead.
#   tests/slurm/test_slurm_e2e.sh EXPLICITLM_BINARY      (ELM_KEEP_TEST_DIR=1 keeps the work directory)
set -euo pipefail
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
bin="$(realpath "${1:?usage: test_slurm_e2e.sh EXPLICITLM_BINARY}")"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/slurm/local_cluster.sh
source "$root/tests/slurm/local_cluster.sh"
started=$SECONDS
# No Slurm or launcher settings from outside (ctest may itself run inside a Slurm job).
for v in $(compgen -e); do [[ "$v" == SLURM_* || "$v" == ELM_LAUNCHER || "$v" == ELM_SRUN_* || "$v" == ELM_RUN_DIR ]] && unset "$v"; done
work="$(mktemp -d "${TMPDIR:-/tmp}/elm-slurm-e2e.XXXXXX")"
cleanup() {
  elm_cluster_stop
  if [[ "${ELM_KEEP_TEST_DIR:-0}" == 1 ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[slurm-e2e $(( SECONDS - started ))s] $*"; }
die() {
  echo "FAILED: $*" >&2
  echo "--- squeue"; squeue -o '%i %j %T %r %S' 2>&1 || true
  for f in "$work"/*.out; do [[ -f "$f" ]] && { echo "--- last lines of $f"; tail -n 25 "$f"; }; done
  elm_cluster_logs
  exit 1
}
check() {  # DESCRIPTION CMD...: the command must succeed
  local what="$1"
  shift
  "$@" || die "$what"
  log "ok: $what"
}

if ! elm_cluster_start "$work/cluster"; then
  if [[ "${ELM_REQUIRE_SLURM:-0}" == 1 ]]; then
    echo "FAILED: Slurm could not start, and ELM_REQUIRE_SLURM=1: $ELM_CLUSTER_PROBLEM" >&2
    exit 1
  fi
  echo "SKIPPED: Slurm could not start here: $ELM_CLUSTER_PROBLEM"
  exit 77
fi
log "cluster up: $(sinfo -h -o '%n %c cpus %t') ($SLURM_CONF)"
srun --mpi=list 2>&1 | grep -q pmix || die "srun --mpi=list does not offer pmix: $(srun --mpi=list 2>&1)"

# --- waiting, always with a deadline -------------------------------------------------------------
field() { scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
# Every wait also ends at the test's overall deadline, well inside ctest's 900 s, so that a stuck
# cluster is stopped by this script's cleanup rather than by ctest killing it.
overall_deadline=$(( SECONDS + ${ELM_E2E_BUDGET_SECONDS:-780} ))
wait_until() {  # SECONDS DESCRIPTION CMD...
  local deadline=$(( SECONDS + $1 )) what="$2"
  (( deadline < overall_deadline )) || deadline=$overall_deadline
  shift 2
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || die "timed out waiting for: $what"
    sleep 0.2
  done
}
state_is() { [[ " $2 " == *" $(field "$1" JobState) "* ]]; }
wait_state() {  # JOB "STATE..." SECONDS
  wait_until "$3" "job $1 to reach $2 (now $(field "$1" JobState))" state_is "$1" "$2"
}
requeued() {  # JOB RESTARTS: back in the queue after its RESTARTS-th requeue
  local s
  s="$(scontrol show job -o "$1" 2>/dev/null)"
  [[ "$s" == *" JobState=PENDING "* && "$s" == *" Restarts=$2 "* ]]
}
wait_requeued() { wait_until 90 "job $1 to be requeued (Restarts=$2, PENDING)" requeued "$1" "$2"; }
# A requeued job waits about 2 minutes (its BeginTime) before it may start again; an admin can let
# it go at once (docs/operations.md, "Resume").
release() {  # JOB
  local deadline=$(( SECONDS + 60 ))
  while state_is "$1" PENDING; do
    (( SECONDS < deadline )) || die "job $1 stays PENDING ($(field "$1" Reason)) after scontrol update StartTime=now"
    scontrol update JobId="$1" StartTime=now >/dev/null 2>&1 || true
    sleep 1
  done
}
last_train_step() {  # RUN_DIR
  [[ -f "$1/metrics.jsonl" ]] || { echo 0; return; }
  grep '"kind":"train"' "$1/metrics.jsonl" | grep -o '"step":[0-9]*' | tail -n 1 | grep -o '[0-9]*$' || echo 0
}
step_at_least() { (( $(last_train_step "$1") >= $2 )); }
# The job's task processes on this node (scontrol listpids: the rows of a numbered step with a
# global task id).
task_pids() { scontrol listpids "$1" 2>/dev/null | awk '$3 ~ /^[0-9]+$/ && $5 ~ /^[0-9]+$/ { print $1 }'; }
# Every pid has signal $2 pending (the process-directed pending set, ShdPnd in /proc/PID/status).
signal_pending() {
  local pid mask
  for pid in $1; do
    mask="$(awk '/^ShdPnd:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" || return 1
    [[ -n "$mask" ]] && (( (16#$mask >> ($2 - 1)) & 1 )) || return 1
  done
}
# The ranks are stopped (SIGSTOP) while a preemption is delivered, so that the run cannot reach its
# last step before the signal: the test needs no assumption about how fast it trains.
has_tasks() { [[ -n "$(task_pids "$1")" ]]; }
freeze() {  # JOB -> FROZEN_PIDS
  wait_until 30 "the tasks of job $1" has_tasks "$1"
  FROZEN_PIDS="$(task_pids "$1" | tr '\n' ' ')"
  (( $(wc -w <<< "$FROZEN_PIDS") == 2 )) || die "job $1 should have 2 task processes, found: $FROZEN_PIDS"
  # shellcheck disable=SC2086
  kill -STOP $FROZEN_PIDS
}
# None of the pids is stopped any more (or they are gone).
running_again() {
  local pid
  for pid in $1; do [[ "$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" != T ]] || return 1; done
}
thaw() {
  # shellcheck disable=SC2086
  kill -CONT $FROZEN_PIDS 2>/dev/null || true
}
# The JSON summary lines the ranks printed into a job log, one per start.
summaries() { grep '^{.*"stage":"joint"' "$1" || true; }
json_number() { sed -n "s/.*\"$2\":\(-\{0,1\}[0-9][0-9.eE+-]*\).*/\1/p" <<< "$1"; }
json_string() { sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" <<< "$1"; }

# --- the fixture: a tiny model, synthetic knowledge, a 40-step joint-stage config --------------
cd "$root"  # sbatch runs jobs in the submit directory, where slurm/lib/common.sh is found
"$bin" make-tiny-qwen3 --out "$work/model" --hidden-size 32 --intermediate-size 64 --layers 2 --heads 2 \
  --kv-heads 1 --head-dim 16 --dtype f32 > /dev/null 2>&1 || die "make-tiny-qwen3"
"$bin" synth --out "$work/data" --seed 3 --entities 20 --disjoint-entities 6 --counterfactuals 1 \
  --train-variants 1 > /dev/null 2>&1 || die "synth"
steps=40
cat > "$work/e2e.toml" <<EOF
# The demo's memory settings (configs/tiny.toml) on a tiny model: ~0.1 s per step on 2 ranks.
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
max_steps = $steps
log_interval = 1
router_weight = 0.5
[checkpoint]
interval = 5
keep_latest_k = 3
[eval]
qa_path = "$work/data/qa_heldout.jsonl"
max_examples = 8
[parallel]
timeout_seconds = 120
[logging]
level = "warning"
EOF
cfg=(configs/tiny.toml --config "$work/e2e.toml")
alloc=(--ntasks=2 --ntasks-per-node=2 --cpus-per-task=1 --time=00:10:00)
export ELM_BIN="$bin"

# --- 1. the uninterrupted reference run ----------------------------------------------------------
ref="$work/runs/reference"
job=$(ELM_RUN_DIR="$ref" sbatch --parsable "${alloc[@]}" --output="$work/reference-%j.out" slurm/train.sbatch "${cfg[@]}")
log "reference run: job $job"
wait_state "$job" "COMPLETED FAILED CANCELLED TIMEOUT NODE_FAIL OUT_OF_MEMORY" 300
check "the reference job completed" state_is "$job" COMPLETED
ref_log="$work/reference-$job.out"
check "srun started the ranks through PMIx" grep -q -- "launch: srun --mpi=pmix" "$ref_log"
check "the ranks formed one MPI world of 2" grep -q '"ranks":2' "$ref_log"
check "the reference trained $steps steps" step_at_least "$ref" "$steps"

# --- 2. preempted twice, requeued, resumed ------------------------------------------------------
run="$work/runs/preempted"
job=$(ELM_RUN_DIR="$run" sbatch --parsable "${alloc[@]}" --output="$work/preempted-%j.out" slurm/train.sbatch "${cfg[@]}")
job_log="$work/preempted-$job.out"
log "preempted run: job $job"
wait_until 120 "job $job to train 3 steps" step_at_least "$run" 3
freeze "$job"
stop1=$(last_train_step "$run")
scancel --signal=USR1 --batch "$job" || die "scancel --signal=USR1 --batch $job"
# The batch shell passes the signal to srun, srun to the tasks: pending on both frozen ranks.
wait_until 30 "SIGUSR1 to reach both ranks of job $job" signal_pending "$FROZEN_PIDS" 10
thaw
log "SIGUSR1 delivered to the ranks at step $stop1"
wait_requeued "$job" 1
mapfile -t starts < <(summaries "$job_log")
s1="$(json_number "${starts[0]:-}" steps)"
check "start 1 stopped by the signal" test "$(json_string "${starts[0]:-}" stopped)" = signal
check "start 1 stopped right after the frozen step ($s1 in [$stop1, $(( stop1 + 1 ))])" test "${s1:-0}" -ge "$stop1" -a "${s1:-0}" -le $(( stop1 + 1 ))
check "the checkpoint start 1 saved verifies" "$bin" ckpt verify "$run/checkpoints/step-$(printf %08d "$s1").h5"
release "$job"
log "requeued by rank 0 (Restarts=1), started again"
wait_until 120 "the restarted job $job to train past step $(( s1 + 3 ))" step_at_least "$run" $(( s1 + 3 ))
freeze "$job"
stop2=$(last_train_step "$run")
scontrol requeue "$job" || die "scontrol requeue $job"
# Slurm continues the stopped tasks (SIGCONT) before it sends SIGTERM and, KillWait later, SIGKILL.
wait_until 20 "Slurm to send SIGCONT to the frozen ranks of job $job" running_again "$FROZEN_PIDS"
log "scontrol requeue at step $stop2"
wait_requeued "$job" 2
mapfile -t starts < <(summaries "$job_log")
s2="$(json_number "${starts[1]:-}" steps)"
check "start 2 resumed from start 1's checkpoint" test "$(json_number "${starts[1]:-}" resumed_from)" = "$s1"
check "start 2 stopped on Slurm's SIGTERM after saving" test "$(json_string "${starts[1]:-}" stopped)" = signal
# Not "right after" here: Slurm's SIGCONT comes before its SIGTERM, and the ranks train on in
# between (2-3 steps of this tiny run were seen); the run must still stop before its end.
check "start 2 stopped after the frozen step, before the end ($s2 in [$stop2, $(( steps - 1 ))])" test "${s2:-0}" -ge "$stop2" -a "${s2:-0}" -lt "$steps"
check "the checkpoint start 2 saved verifies" "$bin" ckpt verify "$run/checkpoints/step-$(printf %08d "$s2").h5"
release "$job"
wait_state "$job" "COMPLETED FAILED CANCELLED TIMEOUT NODE_FAIL OUT_OF_MEMORY" 300
check "the preempted job completed after 2 restarts" state_is "$job" COMPLETED
check "Restarts=2" test "$(field "$job" Restarts)" = 2

for n in 0 1 2; do
  check "the job log shows SLURM_RESTART_COUNT=$n" grep -q "job $job, SLURM_RESTART_COUNT=$n," "$job_log"
  check "the run's start record has restart=$n" grep -q "job=$job array= restart=$n " "$run/slurm-jobs.log"
done
check "the job shell passed SIGUSR1 to the ranks" grep -q "got SIGUSR1: passing it to the ranks" "$job_log"
check "rank 0 requeued the job" grep -q "requeued Slurm job $job" "$run/logs/rank0.log"
check "rank 0 saw that Slurm's own requeue had put the job back" \
  grep -q "Slurm job $job is already back in the queue" "$run/logs/rank0.log"
mapfile -t starts < <(summaries "$job_log")
check "one summary per start" test "${#starts[@]}" = 3
check "start 3 resumed from start 2's checkpoint" test "$(json_number "${starts[2]}" resumed_from)" = "$s2"
check "start 3 ran to the end" test "$(json_number "${starts[2]}" steps)" = "$steps"
check "the metrics have every step once" test "$(grep -c '"kind":"train"' "$run/metrics.jsonl")" = "$steps"

# Every step's loss and every final metric against the reference. The trainer resumes exactly on
# one process and within 1e-5 on 2 ranks (docs/checkpoints.md: the reduction order of the
# sharded bank reads can change in the last bits), so 1e-5 relative is the bound.
tol=1e-5
worst=$(awk -v tol="$tol" '
  function value(line, key,   m) { if (match(line, "[{,]\"" key "\":-?[0-9][0-9.eE+-]*")) { m = substr(line, RSTART + 1, RLENGTH - 1); sub("^\"" key "\":", "", m); return m + 0 } return "none" }
  /"kind":"train"/ { s = value($0, "step"); if (FNR == NR) ref[s] = value($0, "loss"); else { if (!(s in ref)) { print "missing-step-" s; exit } d = ref[s] - value($0, "loss"); if (d < 0) d = -d; r = d / (ref[s] < 0 ? -ref[s] : (ref[s] > 1 ? ref[s] : 1)); if (r > worst) worst = r } }
  END { printf "%.3g\n", worst + 0 }' "$ref/metrics.jsonl" "$run/metrics.jsonl")
[[ "$worst" != missing-step-* ]] || die "the preempted run's metrics have a step the reference lacks: $worst"
check "every step's loss equals the reference's (worst relative difference $worst <= $tol)" awk -v w="$worst" -v t="$tol" 'BEGIN { exit !(w <= t) }'
cmp_json="$("$bin" compare-runs "$ref" "$run" --json --no-plots)" || die "compare-runs"
final_worst=$(awk -v tol="$tol" '
  { line = $0; sub(/.*"metrics":\{/, "", line); sub(/\}.*/, "", line); n = split(line, kv, ",");
    for (i = 1; i <= n; i++) { split(kv[i], p, ":"); k = p[1]; if (k ~ /tokens_per_s|wall_s/) continue; v[NR, k] = p[2] + 0; keys[k] = 1 } }
  END { w = 0; for (k in keys) { if (!((1, k) in v) || !((2, k) in v)) { print "missing " k; exit } a = v[1, k]; b = v[2, k]; d = a - b; if (d < 0) d = -d; s = a < 0 ? -a : a; if (s < 1) s = 1; if (d / s > w) w = d / s } printf "%.3g\n", w }' <<< "$cmp_json")
[[ "$final_worst" != missing* ]] || die "compare-runs: a final metric is in one run only: $final_worst"
check "every final metric equals the reference's (worst relative difference $final_worst <= $tol)" awk -v w="$final_worst" -v t="$tol" 'BEGIN { exit !(w <= t) }'
log "final metrics: reference $(json_number "$(summaries "$ref_log")" last_loss) vs preempted $(json_number "${starts[2]}" last_loss) (last train loss)"

# --- 3. a sweep as a job array, then the comparison job ------------------------------------------
cat > "$work/sweep.toml" <<EOF
[sweep]
name = "e2e"
base = ["configs/tiny.toml", "$work/e2e.toml"]
out_dir = "$work/sweep"
[fixed]
"training.max_steps" = 6
"checkpoint.interval" = 0
[grid]
"training.learning_rate" = [1e-3, 4e-3]
EOF
out="$(bash launch/sweep.sh "$work/sweep.toml" --slurm \
       --sbatch "--ntasks=1 --cpus-per-task=1 --time=00:10:00 --output=$work/sweep-%A_%a.out" 2>"$work/sweep-submit.err")" ||
  die "launch/sweep.sh --slurm: $(cat "$work/sweep-submit.err")"
array_job="$(sed -n 's/^array_job=\([0-9]*\) compare_job=.*/\1/p' <<< "$out")"
compare_job="$(sed -n 's/.* compare_job=\([0-9]*\)$/\1/p' <<< "$out")"
[[ -n "$array_job" && -n "$compare_job" ]] || die "launch/sweep.sh --slurm printed no job ids: $out"
log "sweep: array job $array_job, comparison job $compare_job"
wait_state "$compare_job" "COMPLETED FAILED CANCELLED TIMEOUT" 300
check "the comparison job completed" state_is "$compare_job" COMPLETED
for i in 0 1; do
  check "array task $i completed" state_is "${array_job}_$i" COMPLETED
  check "array task $i logged its array id" grep -q "(array ${array_job}_$i)" "$work/sweep-${array_job}_$i.out"
done
table="$work/sweep/compare.txt"
check "the comparison table is sorted by train/loss" grep -q "runs sorted by train/loss, ascending" "$table"
check "the table has the grid key as a column" grep -q "training.learning_rate" "$table"
for r in learning_rate-0.001 learning_rate-0.004; do
  check "the table lists $r" grep -q " $r " "$table"
done
check "run learning_rate-0.004 trained with its learning rate" \
  test "$("$bin" config --config "$work/sweep/learning_rate-0.004/config.resolved.toml" --get training.learning_rate)" = 0.004
check "the comparison charts were written" test -s "$work/sweep/compare/train-loss.png"
log "comparison table:"; sed 's/^/    /' "$table" | head -n 4

# --- 4. the mpirun fallback and inference --------------------------------------------------------
job=$(ELM_LAUNCHER=mpirun ELM_RUN_DIR="$work/runs/mpirun" sbatch --parsable "${alloc[@]}" --output="$work/mpirun-%j.out" \
      slurm/train.sbatch "${cfg[@]}" training.max_steps=3)
wait_state "$job" "COMPLETED FAILED CANCELLED TIMEOUT" 300
check "the mpirun fallback job completed" state_is "$job" COMPLETED
check "mpirun started 2 ranks in one world" grep -q '"ranks":2' "$work/mpirun-$job.out"
job=$(ELM_RUN_DIR="$work/runs/infer" sbatch --parsable --ntasks=1 --cpus-per-task=1 --output="$work/infer-%j.out" slurm/infer.sbatch "$work/model" \
      "The capital of France is" --max-new-tokens 4 --greedy --print-ids)
wait_state "$job" "COMPLETED FAILED CANCELLED TIMEOUT" 120
check "the inference job completed" state_is "$job" COMPLETED
check "the inference job printed the new token ids" bash -c "tail -n 2 '$work/infer-$job.out' | grep -q '^\\['"
check "the inference job wrote its run directory" test -f "$work/runs/infer/config.resolved.toml"

log "passed in $(( SECONDS - started )) s"
