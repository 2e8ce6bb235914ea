# What the ExplicitLM job scripts share (slurm/train.sbatch, slurm/sweep.sbatch,
# slurm/infer.sbatch): sourced, never run. docs/slurm.md describes the variables a user sets;
# tests/scripts/test_common_sh.sh tests every function here without Slurm.
#
#   elm_init NAME              ELM_ROOT, ELM_BIN, the job banner, the environment knobs
#   elm_check_world_size ARGS  SLURM_NTASKS against parallel.pp / parallel.dp of a train command line
#   elm_record_start RUN_DIR   one line per start (restarts included) in RUN_DIR/slurm-jobs.log
#   elm_run_ranks CMD...       CMD on every task (srun --mpi=pmix, or mpirun), signals forwarded
#   elm_bind_gpu               in a task: CUDA_VISIBLE_DEVICES from the task's node-local rank
#
# Variables (all optional): ELM_ROOT (repository; default $SLURM_SUBMIT_DIR, else the current
# directory), ELM_BIN (default $ELM_ROOT/build/bin/explicitlm), ELM_LAUNCHER (srun | mpirun),
# ELM_SRUN_MPI (srun --mpi plugin, default pmix), ELM_SRUN_ARGS / ELM_MPIRUN_ARGS (extra launcher
# arguments), ELM_GPU_BIND (auto | none), plus HDF5_USE_FILE_LOCKING and NCCL_DEBUG, which keep a
# value set before the job.

# The job's name in log lines ("elm-train"); set by elm_init.
ELM_JOB_TAG="${ELM_JOB_TAG:-elm}"

elm_log() { echo "[$ELM_JOB_TAG $(date '+%F %T')] $*" >&2; }
elm_die() { echo "[$ELM_JOB_TAG] error: $*" >&2; exit "${ELM_DIE_CODE:-1}"; }

# The restart count Slurm gives a requeued job (absent on the first start).
elm_restart_count() { echo "${SLURM_RESTART_COUNT:-0}"; }

# elm_init NAME: resolves the repository and the binary, logs what the job got from Slurm and
# exports the environment knobs. Call it first.
elm_init() {
  ELM_JOB_TAG="$1"
  ELM_ROOT="${ELM_ROOT:-${SLURM_SUBMIT_DIR:-$(pwd)}}"
  ELM_BIN="${ELM_BIN:-$ELM_ROOT/build/bin/explicitlm}"
  [[ -x "$ELM_BIN" ]] || elm_die "$ELM_BIN not found or not executable; run tools/build.sh in $ELM_ROOT first (or set ELM_BIN)"
  case "${ELM_LAUNCHER:-srun}" in
    srun|mpirun) ;;
    *) elm_die "ELM_LAUNCHER='${ELM_LAUNCHER}' must be srun or mpirun" ;;
  esac
  export ELM_ROOT ELM_BIN ELM_JOB_TAG
  elm_log "job ${SLURM_JOB_ID:-none (not under Slurm)}${SLURM_ARRAY_JOB_ID:+ (array ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID})}," \
          "SLURM_RESTART_COUNT=$(elm_restart_count), nodes ${SLURM_JOB_NODELIST:-$(hostname -s)}," \
          "${SLURM_NTASKS:-1} task(s) x ${SLURM_CPUS_PER_TASK:-1} cpu(s)${SLURM_GPUS_ON_NODE:+, $SLURM_GPUS_ON_NODE GPU(s) per node}"
  elm_export_knobs
}

# The environment every rank inherits. HDF5_USE_FILE_LOCKING and NCCL_DEBUG keep a value the user
# exported before sbatch.
elm_export_knobs() {
  # One process per task: its cores go to intra-op threads (runtime.threads=0 reads this).
  export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"
  # HDF5's flock/fcntl locks fail on many Lustre/NFS mounts ("unable to lock file"); the
  # checkpoint protocol (.tmp, fsync, rename, complete marker) does not need them.
  export HDF5_USE_FILE_LOCKING="${HDF5_USE_FILE_LOCKING:-FALSE}"
  # NCCL's own warnings (a failed connection names the peer and the transport); INFO for setup
  # details, see docs/troubleshooting.md.
  export NCCL_DEBUG="${NCCL_DEBUG:-WARN}"
  elm_log "OMP_NUM_THREADS=$OMP_NUM_THREADS HDF5_USE_FILE_LOCKING=$HDF5_USE_FILE_LOCKING NCCL_DEBUG=$NCCL_DEBUG" \
          "launcher=${ELM_LAUNCHER:-srun}${ELM_SRUN_MPI:+ ELM_SRUN_MPI=$ELM_SRUN_MPI}"
}

# elm_config_args ARGS...: the arguments of a train command line that the configuration reads
# (--config FILE, section.key=value, --section.key value, --section.key=value), one per line, so
# that `explicitlm config` can resolve what `explicitlm train` will use.
elm_config_args() {
  while (( $# )); do
    case "$1" in
      --config) (( $# >= 2 )) && printf '%s\n' "$1" "$2"; shift 2 || shift; continue ;;
      --config=*|[a-z]*.[a-z]*=*|--[a-z]*.[a-z]*=*) printf '%s\n' "$1" ;;
      --[a-z]*.[a-z]*) (( $# >= 2 )) && printf '%s\n' "$1" "$2"; shift 2 || shift; continue ;;
    esac
    shift
  done
}

# elm_check_world_size TRAIN_ARGS...: stops before srun when the job's task count cannot hold the
# run's process grid (parallel.pp stages x parallel.dp ranks), instead of failing on every rank
# after start-up. The ranks check again that the MPI world really has SLURM_NTASKS ranks (a
# launch without PMIx starts singletons; docs/distributed.md "Slurm").
elm_check_world_size() {
  local ntasks="${SLURM_NTASKS:-1}"
  [[ "$ntasks" =~ ^[1-9][0-9]*$ ]] || elm_die "SLURM_NTASKS='$ntasks' is not a positive task count"
  local -a cfg
  mapfile -t cfg < <(elm_config_args "$@")
  local pp dp
  pp="$("$ELM_BIN" config "${cfg[@]}" --get parallel.pp)" || elm_die "the config of this job does not resolve (see the message above)"
  dp="$("$ELM_BIN" config "${cfg[@]}" --get parallel.dp)" || elm_die "the config of this job does not resolve (see the message above)"
  if (( ntasks % pp != 0 )); then
    elm_die "the job has $ntasks task(s), not a multiple of parallel.pp = $pp pipeline stages; submit with --ntasks a multiple of $pp"
  fi
  if (( dp > 0 && pp * dp != ntasks )); then
    elm_die "parallel.pp x parallel.dp = $pp x $dp = $((pp * dp)) ranks, but the job has $ntasks task(s); set parallel.dp=0 (derive it) or submit with --ntasks=$((pp * dp))"
  fi
  elm_log "world: $ntasks rank(s) = $pp pipeline stage(s) x $((ntasks / pp)) data-parallel rank(s)"
}

# elm_record_start RUN_DIR: the run's own history of job starts (requeues and resubmissions).
elm_record_start() {
  local run_dir="$1"
  mkdir -p "$run_dir"
  printf '%s job=%s array=%s restart=%s nodes=%s ntasks=%s cpus_per_task=%s\n' "$(date -u '+%FT%TZ')" \
    "${SLURM_JOB_ID:-none}" "${SLURM_ARRAY_JOB_ID:+${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}}" \
    "$(elm_restart_count)" "${SLURM_JOB_NODELIST:-$(hostname -s)}" "${SLURM_NTASKS:-1}" "${SLURM_CPUS_PER_TASK:-1}" \
    >> "$run_dir/slurm-jobs.log"
}

# elm_bind_gpu: run inside each task (slurm/lib/task.sh). When the task sees several GPUs
# (CUDA_VISIBLE_DEVICES lists more than one: --gres=gpu:N per node without per-task binding), keep
# only the one at its node-local rank modulo their count, so that task i of a node drives GPU i.
# One listed GPU (Slurm bound it: --gpus-per-task=1) or none (a CPU job) is left alone.
elm_bind_gpu() {
  [[ "${ELM_GPU_BIND:-auto}" == none ]] && return 0
  [[ "${ELM_GPU_BIND:-auto}" == auto ]] || elm_die "ELM_GPU_BIND='${ELM_GPU_BIND}' must be auto or none"
  local visible="${CUDA_VISIBLE_DEVICES:-}"
  [[ -n "$visible" && "$visible" == *,* ]] || return 0
  # mpirun's ranks carry Open MPI's local rank; srun's tasks carry SLURM_LOCALID.
  local local_rank="${OMPI_COMM_WORLD_LOCAL_RANK:-${SLURM_LOCALID:-}}"
  [[ "$local_rank" =~ ^[0-9]+$ ]] || return 0
  local -a gpus
  IFS=, read -r -a gpus <<< "$visible"
  export CUDA_VISIBLE_DEVICES="${gpus[local_rank % ${#gpus[@]}]}"
  elm_log "task ${SLURM_PROCID:-${OMPI_COMM_WORLD_RANK:-?}} (local rank $local_rank): CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES of $visible"
}

# elm_launcher_command: the launcher prefix for SLURM_NTASKS ranks, one per line.
#   srun (default): srun --mpi=pmix (ELM_SRUN_MPI: pmix_v4, pmi2, ...), one rank per task.
#   mpirun: Open MPI's mpirun inside the allocation (it reads the allocation from Slurm and starts
#           its daemons with srun); the fallback where Slurm has no PMIx plugin.
elm_launcher_command() {
  case "${ELM_LAUNCHER:-srun}" in
    srun)
      # No --kill-on-bad-exit: after a stop every rank exits 3, and rank 0 must outlive the others
      # to requeue the job; a failing rank ends the job itself (MPI_Abort, docs/distributed.md).
      printf '%s\n' srun "--mpi=${ELM_SRUN_MPI:-pmix}"
      # shellcheck disable=SC2086  # ELM_SRUN_ARGS is split on purpose
      [[ -n "${ELM_SRUN_ARGS:-}" ]] && printf '%s\n' ${ELM_SRUN_ARGS}
      ;;
    mpirun)
      printf '%s\n' mpirun -n "${SLURM_NTASKS:-1}" --bind-to none -x OMP_NUM_THREADS -x HDF5_USE_FILE_LOCKING -x NCCL_DEBUG
      (( $(id -u) == 0 )) && printf '%s\n' --allow-run-as-root
      # shellcheck disable=SC2086
      [[ -n "${ELM_MPIRUN_ARGS:-}" ]] && printf '%s\n' ${ELM_MPIRUN_ARGS}
      ;;
  esac
  return 0
}

# elm_run_ranks CMD...: runs CMD on every rank through slurm/lib/task.sh (GPU binding) and
# returns its exit status. The launcher runs in the background so that this shell can take
# signals while it waits: SIGUSR1 (`#SBATCH --signal=B:USR1@SECONDS`, `scancel --signal=USR1
# --batch`) and SIGTERM are passed on to the launcher, which passes them to every rank; the
# trainer then saves a checkpoint and exits 3 (docs/slurm.md, "Preemption and time limits").
elm_run_ranks() {
  local -a launcher
  mapfile -t launcher < <(elm_launcher_command)
  (( ${#launcher[@]} )) || exit 1
  elm_log "launch: ${launcher[*]} $*"
  "${launcher[@]}" bash "$ELM_ROOT/slurm/lib/task.sh" "$@" &
  ELM_LAUNCHER_PID=$!
  trap 'elm_forward_signal USR1' USR1
  trap 'elm_forward_signal TERM' TERM
  # `wait` returns early (status > 128) when a trapped signal arrives: wait again while the
  # launcher lives; bash keeps its exit status for the last `wait`.
  while kill -0 "$ELM_LAUNCHER_PID" 2>/dev/null; do
    wait "$ELM_LAUNCHER_PID" || true
  done
  local rc=0
  wait "$ELM_LAUNCHER_PID" || rc=$?
  trap - USR1 TERM
  elm_report_exit "$rc"
  return "$rc"
}

elm_forward_signal() {
  elm_log "got SIG$1: passing it to the ranks (they save a checkpoint at the end of this step and exit 3)"
  kill -s "$1" "$ELM_LAUNCHER_PID" 2>/dev/null || true
}

# What the launcher's status means for this job.
elm_report_exit() {
  case "$1" in
    0) elm_log "done: every rank exited 0" ;;
    3) elm_log "stopped early on purpose (signal or training.exit_duration_minutes) after saving a checkpoint;" \
               "the job resumes from it when it runs again (requeued by rank 0 when training.requeue_on_stop = true)" ;;
    *) elm_log "the ranks failed (exit status $1); see the messages above and RUN/logs/rank*.log" ;;
  esac
}
