#!/usr/bin/env bash
# Runs every training run of a sweep file (a grid of config overrides; docs/slurm.md, "Sweeps"):
# here one after another, or on Slurm as a job array followed by the comparison job.
#
#   launch/sweep.sh SWEEP.toml [--dry-run] [--ranks R] [-- overrides for every run]
#   launch/sweep.sh SWEEP.toml --slurm [--dry-run] [--sbatch "sbatch options"] [-- overrides for every run]
#
# `explicitlm sweep expand SWEEP.toml` lists the runs; each trains in its own directory
# (out_dir/<run name>, with its config.resolved.toml) and resumes there when started again. The
# list is written to out_dir/runs.jsonl. Locally (R ranks each with launch/train.sh when --ranks
# R > 1) a failed run does not stop the others; the exit status is 1 when any failed. The table of
# tools/compare-runs is printed and its charts written to out_dir/compare at the end.
# --slurm submits `sbatch --array=0-(n-1) slurm/sweep.sbatch SWEEP.toml` (--sbatch adds options
# such as "--ntasks=4 --time=2:00:00 --array=0-7%2" -- an --array there replaces the default) and a
# job that runs `explicitlm compare-runs` after the array (output in out_dir/compare.txt); it prints
# both job ids. --dry-run prints the commands and runs or submits nothing. ELM_BIN names the
# explicitlm binary to use (default: build/bin/explicitlm, built first if needed).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }

sweep="" slurm=false dry_run=false ranks=1 sbatch_opts=""
extra=()
while (( $# )); do
  case "$1" in
    --slurm) slurm=true; shift ;;
    --dry-run) dry_run=true; shift ;;
    --ranks) ranks="${2:?--ranks needs a value}"; shift 2 ;;
    --sbatch) sbatch_opts="${2?--sbatch needs a value}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    -*) echo "sweep.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) [[ -z "$sweep" ]] || { echo "sweep.sh: one sweep file, got '$sweep' and '$1' (overrides go after --)" >&2; exit 2; }
       sweep="$1"; shift ;;
  esac
done
[[ -n "$sweep" ]] || { echo "sweep.sh: no sweep file (see --help)" >&2; exit 2; }
[[ -f "$sweep" ]] || { echo "sweep.sh: sweep file '$sweep' does not exist" >&2; exit 2; }
[[ "$ranks" =~ ^[1-9][0-9]*$ ]] || { echo "sweep.sh: --ranks must be a positive integer, got '$ranks'" >&2; exit 2; }
$slurm && (( ranks > 1 )) && { echo "sweep.sh: --ranks is for local runs; with --slurm pass --sbatch \"--ntasks=$ranks\"" >&2; exit 2; }

# ELM_BIN: an explicitlm binary to use as it is (tests); otherwise build first if needed.
if [[ -n "${ELM_BIN:-}" ]]; then
  bin="$ELM_BIN"
else
  BUILD_TARGETS=explicitlm bash "$root/tools/build.sh" >&2
  bin="${BUILD_DIR:-$root/build}/bin/explicitlm"
fi
# Validates the whole sweep (every run's config) before anything runs or is submitted.
n="$("$bin" sweep expand "$sweep" --count)"
# Run i's arguments of `explicitlm train`, and its directory (the run.dir= argument).
run_args() { mapfile -t args < <("$bin" sweep expand "$sweep" --index "$1"); }
run_dirs=()
for (( i = 0; i < n; i++ )); do
  run_args "$i"
  for a in "${args[@]}"; do [[ "$a" == run.dir=* ]] && run_dirs+=("${a#run.dir=}"); done
done
out_dir="$(dirname "${run_dirs[0]}")"
echo "sweep.sh: $sweep: $n run(s) in $out_dir" >&2
"$bin" sweep expand "$sweep" >&2

q() { printf '%q ' "$@"; }  # a command line as the shell would read it (for --dry-run and logs)

if $slurm; then
  array=(--array="0-$((n - 1))")
  # shellcheck disable=SC2206  # the sbatch options are split on purpose
  opts=($sbatch_opts)
  for o in "${opts[@]}"; do [[ "$o" == --array=* || "$o" == -a ]] && array=(); done
  submit=(sbatch --parsable "${array[@]}" "${opts[@]}" "$root/slurm/sweep.sbatch" "$sweep" "${extra[@]}")
  compare=(sbatch --parsable --job-name=elm-sweep-compare --ntasks=1 --time=00:30:00
           --output="$out_dir/compare.txt" --open-mode=truncate)
  # afterany: the comparison also lists what the failed or cancelled runs left (--skip-missing).
  compare_cmd="$(q "$bin" compare-runs "${run_dirs[@]}" --skip-missing --out "$out_dir/compare")"
  if $dry_run; then
    echo "$(q "${submit[@]}")"
    echo "$(q "${compare[@]}") --dependency=afterany:<array job> --wrap=$(q "$compare_cmd")"
    exit 0
  fi
  mkdir -p "$out_dir"
  "$bin" sweep expand "$sweep" --json > "$out_dir/runs.jsonl"
  array_job="$("${submit[@]}")"
  array_job="${array_job%%;*}"  # --parsable prints "ID" or "ID;CLUSTER"
  compare_job="$("${compare[@]}" --dependency="afterany:$array_job" --wrap="$compare_cmd")"
  compare_job="${compare_job%%;*}"
  echo "sweep.sh: submitted array job $array_job ($n runs, logs elm-sweep-${array_job}_<i>.out) and comparison job $compare_job (table in $out_dir/compare.txt)" >&2
  echo "array_job=$array_job compare_job=$compare_job"
  exit 0
fi

failed=()
for (( i = 0; i < n; i++ )); do
  run_args "$i"
  if (( ranks > 1 )); then
    # launch/train.sh -n R CONFIG ...: the first base config is its CONFIG.
    [[ "${args[0]}" == --config ]] || { echo "sweep.sh: --ranks needs a [sweep] base config in $sweep" >&2; exit 2; }
    cmd=(bash "$root/launch/train.sh" -n "$ranks" "${args[1]}" "${args[@]:2}" "${extra[@]}")
  else
    cmd=("$bin" train "${args[@]}" "${extra[@]}")
  fi
  if $dry_run; then echo "$(q "${cmd[@]}")"; continue; fi
  echo "sweep.sh: run $((i + 1)) of $n: $(q "${cmd[@]}")" >&2
  rc=0
  "${cmd[@]}" || rc=$?
  if (( rc != 0 )); then echo "sweep.sh: run $i failed (exit $rc)" >&2; failed+=("$i"); fi
done
$dry_run && exit 0
mkdir -p "$out_dir"
"$bin" sweep expand "$sweep" --json > "$out_dir/runs.jsonl"
"$bin" compare-runs "${run_dirs[@]}" --skip-missing --out "$out_dir/compare" ||
  { echo "sweep.sh: compare-runs failed (see above)" >&2; failed+=(compare-runs); }
if (( ${#failed[@]} )); then
  echo "sweep.sh: failed: ${failed[*]} (runs are numbered from 0, as in explicitlm sweep expand)" >&2
  exit 1
fi
