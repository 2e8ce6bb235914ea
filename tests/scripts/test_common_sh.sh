#!/usr/bin/env bash
# Tests slurm/lib/common.sh and the job scripts without Slurm (ctest: scripts_common_sh):
# the config arguments of a train command line, the world-size check, GPU binding from the
# node-local rank, the launcher command lines, the environment knobs and the banner, the start
# record, signal forwarding from the job shell to the ranks (mpirun as the launcher), --help of
# every job script, and slurm/infer.sbatch run outside Slurm on a tiny model.
#   tests/scripts/test_common_sh.sh EXPLICITLM_BINARY
set -euo pipefail
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
bin="$(realpath "${1:?usage: test_common_sh.sh EXPLICITLM_BINARY}")"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/elm-common-sh.XXXXXX")"
trap 'rm -rf "$work"' EXIT
failures=0
pass() { echo "ok: $*"; }
fail() { echo "FAILED: $*" >&2; failures=$((failures + 1)); }
expect_eq() {  # NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}
expect_contains() {  # NAME NEEDLE TEXT
  if [[ "$3" == *"$2"* ]]; then pass "$1"; else fail "$1: [$2] not in: $3"; fi
}
# No Slurm, launcher or GPU settings from outside (ctest may itself run inside a Slurm job).
for v in $(compgen -e); do [[ "$v" == SLURM_* || "$v" == ELM_* || "$v" == OMPI_* || "$v" == PMIX_* ]] && unset "$v"; done
unset CUDA_VISIBLE_DEVICES HDF5_USE_FILE_LOCKING NCCL_DEBUG
# Runs "$@" in a shell that sourced common.sh.
lib() {
  ELM_BIN="$bin" ELM_ROOT="$root" bash -c 'set -euo pipefail; source "$ELM_ROOT/slurm/lib/common.sh"; "$@"' lib "$@"
}

# --- elm_config_args: what `explicitlm config` needs from a train command line -------------
out="$(lib elm_config_args --config a.toml --stage joint run.dir=x --parallel.pp 2 --tokenizer t.json \
        --config=b.toml --runtime.seed=3 positional --run-dir d | tr '\n' ' ')"
expect_eq "config args of a train command line" "--config a.toml run.dir=x --parallel.pp 2 --config=b.toml --runtime.seed=3 " "$out"

# --- elm_check_world_size ----------------------------------------------------------------------
out="$(SLURM_NTASKS=4 lib elm_check_world_size --stage joint parallel.pp=2 2>&1)"
expect_contains "4 tasks hold 2 stages" "world: 4 rank(s) = 2 pipeline stage(s) x 2 data-parallel rank(s)" "$out"
rc=0; out="$(SLURM_NTASKS=2 lib elm_check_world_size --parallel.pp 3 2>&1)" || rc=$?
expect_eq "2 tasks, pp 3: exit 1" 1 "$rc"
expect_contains "2 tasks, pp 3: the reason" "the job has 2 task(s), not a multiple of parallel.pp = 3" "$out"
rc=0; out="$(SLURM_NTASKS=4 lib elm_check_world_size parallel.dp=3 2>&1)" || rc=$?
expect_eq "pp x dp != tasks: exit 1" 1 "$rc"
expect_contains "pp x dp != tasks: the reason" "1 x 3 = 3 ranks, but the job has 4 task(s)" "$out"
rc=0; out="$(SLURM_NTASKS=2 lib elm_check_world_size parallel.pp=0 2>&1)" || rc=$?
expect_eq "a config error stops the check" 1 "$rc"
expect_contains "a config error names the key" "parallel.pp" "$out"
rc=0; out="$(SLURM_NTASKS=two lib elm_check_world_size 2>&1)" || rc=$?
expect_contains "a bad SLURM_NTASKS" "SLURM_NTASKS='two' is not a positive task count" "$out"

# --- elm_bind_gpu --------------------------------------------------------------------------------
gpu() { env "$@" ELM_BIN="$bin" bash -c 'source "'"$root"'/slurm/lib/common.sh"; elm_bind_gpu 2>/dev/null; echo "${CUDA_VISIBLE_DEVICES-unset}"'; }
expect_eq "local rank 2 of 4 GPUs" 6 "$(gpu CUDA_VISIBLE_DEVICES=4,5,6,7 SLURM_LOCALID=2)"
expect_eq "local rank modulo the GPUs" 5 "$(gpu CUDA_VISIBLE_DEVICES=4,5,6,7 SLURM_LOCALID=5)"
expect_eq "mpirun's local rank wins" 5 "$(gpu CUDA_VISIBLE_DEVICES=4,5,6,7 SLURM_LOCALID=0 OMPI_COMM_WORLD_LOCAL_RANK=1)"
expect_eq "one GPU bound by Slurm stays" 3 "$(gpu CUDA_VISIBLE_DEVICES=3 SLURM_LOCALID=1)"
expect_eq "no GPUs stays unset" unset "$(env -u CUDA_VISIBLE_DEVICES bash -c 'source "'"$root"'/slurm/lib/common.sh"; elm_bind_gpu; echo "${CUDA_VISIBLE_DEVICES-unset}"')"
expect_eq "ELM_GPU_BIND=none" 0,1 "$(gpu CUDA_VISIBLE_DEVICES=0,1 SLURM_LOCALID=1 ELM_GPU_BIND=none)"
out="$(CUDA_VISIBLE_DEVICES=0,1 SLURM_LOCALID=1 SLURM_PROCID=3 ELM_GPU_BIND=auto bash -c 'source "'"$root"'/slurm/lib/common.sh"; elm_bind_gpu' 2>&1)"
expect_contains "binding is logged" "task 3 (local rank 1): CUDA_VISIBLE_DEVICES=1 of 0,1" "$out"
rc=0; out="$(CUDA_VISIBLE_DEVICES=0,1 ELM_GPU_BIND=yes bash -c 'source "'"$root"'/slurm/lib/common.sh"; elm_bind_gpu' 2>&1)" || rc=$?
expect_contains "a bad ELM_GPU_BIND" "ELM_GPU_BIND='yes' must be auto or none" "$out"

# --- elm_launcher_command ------------------------------------------------------------------------
expect_eq "srun with PMIx by default" "srun --mpi=pmix " "$(lib elm_launcher_command | tr '\n' ' ')"
expect_eq "ELM_SRUN_MPI and ELM_SRUN_ARGS" "srun --mpi=pmi2 --exclusive -v " \
  "$(ELM_SRUN_MPI=pmi2 ELM_SRUN_ARGS='--exclusive -v' lib elm_launcher_command | tr '\n' ' ')"
out="$(SLURM_NTASKS=3 ELM_LAUNCHER=mpirun lib elm_launcher_command | tr '\n' ' ')"
expect_contains "mpirun with the task count" "mpirun -n 3 --bind-to none -x OMP_NUM_THREADS -x HDF5_USE_FILE_LOCKING -x NCCL_DEBUG" "$out"

# --- elm_init: banner, knobs, bad settings -----------------------------------------------------
out="$(SLURM_JOB_ID=77 SLURM_RESTART_COUNT=2 SLURM_NTASKS=4 SLURM_CPUS_PER_TASK=8 \
       ELM_BIN="$bin" ELM_ROOT="$root" bash -c 'source "$ELM_ROOT/slurm/lib/common.sh"; elm_init elm-test;
       echo "OMP=$OMP_NUM_THREADS HDF5=$HDF5_USE_FILE_LOCKING NCCL=$NCCL_DEBUG"' 2>&1)"
expect_contains "banner: job and restart count" "[elm-test" "$out"
expect_contains "banner: SLURM_RESTART_COUNT" "job 77, SLURM_RESTART_COUNT=2, nodes" "$out"
expect_contains "banner: tasks and cpus" "4 task(s) x 8 cpu(s)" "$out"
expect_contains "knobs: defaults" "OMP=8 HDF5=FALSE NCCL=WARN" "$out"
out="$(HDF5_USE_FILE_LOCKING=TRUE NCCL_DEBUG=INFO ELM_BIN="$bin" ELM_ROOT="$root" bash -c \
       'source "$ELM_ROOT/slurm/lib/common.sh"; elm_init t; echo "HDF5=$HDF5_USE_FILE_LOCKING NCCL=$NCCL_DEBUG"' 2>/dev/null)"
expect_eq "knobs: the user's values stay" "HDF5=TRUE NCCL=INFO" "$out"
rc=0; out="$(ELM_LAUNCHER=ssh ELM_BIN="$bin" bash -c 'source "'"$root"'/slurm/lib/common.sh"; elm_init t' 2>&1)" || rc=$?
expect_contains "a bad ELM_LAUNCHER" "ELM_LAUNCHER='ssh' must be srun or mpirun" "$out"
rc=0; out="$(ELM_BIN="$work/none" bash -c 'source "'"$root"'/slurm/lib/common.sh"; elm_init t' 2>&1)" || rc=$?
expect_eq "a missing binary: exit 1" 1 "$rc"
expect_contains "a missing binary: the reason" "$work/none not found or not executable; run tools/build.sh" "$out"

# --- elm_record_start -----------------------------------------------------------------------------
SLURM_JOB_ID=5 SLURM_RESTART_COUNT=1 SLURM_NTASKS=2 lib elm_record_start "$work/run"
SLURM_JOB_ID=5 SLURM_RESTART_COUNT=2 SLURM_NTASKS=2 lib elm_record_start "$work/run"
expect_eq "one line per start" 2 "$(wc -l < "$work/run/slurm-jobs.log")"
expect_contains "the start line" "job=5 array= restart=2 nodes=" "$(tail -n 1 "$work/run/slurm-jobs.log")"

# --- elm_run_ranks: SIGUSR1 to the job shell reaches every rank ----------------------------------
# Two ranks under mpirun (the launcher that needs no Slurm); each traps USR1, records it and exits
# 3 as the trainer does. The job shell gets the signal, as from #SBATCH --signal=B:USR1@N.
cat > "$work/rank.sh" <<'EOF'
#!/usr/bin/env bash
rank="${OMPI_COMM_WORLD_RANK:-x}"
trap 'echo "rank $rank got USR1" > "$WORK/usr1.$rank"; exit 3' USR1
touch "$WORK/ready.$rank"
for _ in $(seq 600); do sleep 0.1; done
exit 9
EOF
chmod +x "$work/rank.sh"
cat > "$work/job.sh" <<'EOF'
source "$ELM_ROOT/slurm/lib/common.sh"
elm_init elm-test
rc=0
elm_run_ranks "$WORK/rank.sh" || rc=$?
exit "$rc"
EOF
WORK="$work" SLURM_NTASKS=2 ELM_LAUNCHER=mpirun ELM_MPIRUN_ARGS="--oversubscribe" ELM_BIN="$bin" ELM_ROOT="$root" \
  bash "$work/job.sh" > "$work/job.out" 2>&1 &
job=$!
for _ in $(seq 300); do [[ -e "$work/ready.0" && -e "$work/ready.1" ]] && break; sleep 0.1; done
if [[ -e "$work/ready.0" && -e "$work/ready.1" ]]; then
  kill -USR1 "$job"
  rc=0; wait "$job" || rc=$?
  expect_eq "the job exits with the ranks' status 3" 3 "$rc"
  expect_eq "rank 0 got SIGUSR1" "rank 0 got USR1" "$(cat "$work/usr1.0" 2>/dev/null)"
  expect_eq "rank 1 got SIGUSR1" "rank 1 got USR1" "$(cat "$work/usr1.1" 2>/dev/null)"
  expect_contains "the job log says what happened" "got SIGUSR1: passing it to the ranks" "$(cat "$work/job.out")"
  expect_contains "the job log explains exit 3" "stopped early on purpose" "$(cat "$work/job.out")"
else
  kill "$job" 2>/dev/null || true; wait "$job" 2>/dev/null || true
  fail "the two ranks did not start within 30 s: $(cat "$work/job.out")"
fi

# --- the job scripts: --help, syntax, usage errors ------------------------------------------------
for script in train sweep infer; do
  f="$root/slurm/$script.sbatch"
  bash -n "$f" && pass "$script.sbatch parses" || fail "$script.sbatch has a syntax error"
  out="$(bash "$f" --help)"
  expect_contains "$script.sbatch --help" "sbatch " "$out"
  [[ "$out" != *"SBATCH --"* ]] && pass "$script.sbatch --help stops before #SBATCH" || fail "$script.sbatch --help prints #SBATCH lines"
  rc=0; (cd "$root" && ELM_BIN="$bin" bash "$f" >/dev/null 2>&1) || rc=$?
  expect_eq "$script.sbatch without arguments: exit 2" 2 "$rc"
done

# --- slurm/infer.sbatch outside Slurm, on a tiny model --------------------------------------------
"$bin" make-tiny-qwen3 --out "$work/model" --hidden-size 32 --intermediate-size 64 --layers 2 --heads 2 \
  --kv-heads 1 --head-dim 16 --dtype f32 > /dev/null 2>&1
rc=0
(cd "$root" && ELM_BIN="$bin" ELM_LAUNCHER=mpirun ELM_RUN_DIR="$work/infer" \
   bash slurm/infer.sbatch "$work/model" "The capital of France is" --max-new-tokens 4 --greedy --print-ids \
   > "$work/infer.out" 2> "$work/infer.err") || rc=$?
expect_eq "infer.sbatch outside Slurm: exit 0" 0 "$rc"
expect_contains "infer.sbatch prints the new ids" "[" "$(tail -n 1 "$work/infer.out")"
[[ -f "$work/infer/config.resolved.toml" ]] && pass "infer.sbatch wrote the run directory" || fail "no $work/infer/config.resolved.toml"
expect_contains "infer.sbatch records the start" "restart=0" "$(cat "$work/infer/slurm-jobs.log" 2>/dev/null)"

# A JSONL batch on 2 ranks (mpirun outside Slurm): one result line per prompt, in order.
printf '{"prompt": "One"}\n{"prompt": "Two"}\n{"ids": [1, 2]}\n' > "$work/prompts.jsonl"
rc=0
(cd "$root" && ELM_BIN="$bin" ELM_LAUNCHER=mpirun ELM_RUN_DIR="$work/infer-batch" SLURM_NTASKS=2 \
   bash slurm/infer.sbatch "$work/model" "$work/prompts.jsonl" --max-new-tokens 2 --greedy --batch-size 1 \
   > "$work/infer-batch.out" 2> "$work/infer-batch.err") || rc=$?
expect_eq "infer.sbatch with a JSONL batch: exit 0" 0 "$rc"
expect_eq "infer.sbatch writes one result per prompt" 3 "$(wc -l < "$work/infer-batch/results.jsonl" 2>/dev/null || echo 0)"
expect_contains "results come from both ranks" '"rank":1' "$(cat "$work/infer-batch/results.jsonl" 2>/dev/null)"
rc=0
(cd "$root" && ELM_BIN="$bin" bash slurm/infer.sbatch "$work/nowhere" "x" > /dev/null 2>&1) || rc=$?
expect_eq "infer.sbatch with a missing model: exit 2" 2 "$rc"

if (( failures )); then echo "$failures check(s) failed" >&2; exit 1; fi
echo "all checks passed"
