#!/usr/bin/env bash
# Data-parallel training on this machine: `explicitlm train` on RANKS MPI ranks (docs/distributed.md).
#
#   launch/train.sh -n RANKS CONFIG [explicitlm train options and section.key=value overrides ...]
#   launch/train.sh -n 4 configs/tiny.toml --stage joint --run-dir runs/joint4 training.max_steps=100
#
# Each micro-batch of training.batch_size examples is split over the ranks (the global batch stays
# what one process would train on); each rank holds its shard of the memory bank (model.cache_path).
# Ranks get OMP_NUM_THREADS threads each (default: cores / RANKS, at least 1). mpirun runs with
# --oversubscribe (more ranks than cores is fine on a laptop) and --bind-to none; extra mpirun
# arguments go in ELM_MPIRUN_ARGS. Under Slurm, start the same binary with srun instead
# (slurm/train.sbatch). The last stdout line is rank 0's JSON summary.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

ranks=""
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then usage; exit 0; fi
if [[ "${1:-}" == "-n" ]]; then ranks="${2:-}"; shift 2 || true; fi
[[ "$ranks" =~ ^[1-9][0-9]*$ ]] || { echo "train.sh: -n RANKS (a positive integer) comes first; see --help" >&2; exit 2; }
config="${1:-}"
[[ -n "$config" ]] || { echo "train.sh: no CONFIG file after -n $ranks; see --help" >&2; exit 2; }
[[ -f "$config" ]] || { echo "train.sh: config file '$config' does not exist" >&2; exit 2; }
shift

BUILD_TARGETS=explicitlm bash "$root/tools/build.sh" >&2
bin="${BUILD_DIR:-$root/build}/bin/explicitlm"
mpirun_bin="$(command -v mpirun || command -v mpiexec || true)"
[[ -n "$mpirun_bin" ]] || { echo "train.sh: mpirun not found (tools/setup.sh installs Open MPI)" >&2; exit 1; }

cores="$(nproc)"
threads="${OMP_NUM_THREADS:-$(( cores / ranks > 0 ? cores / ranks : 1 ))}"
flags=(-n "$ranks" --oversubscribe --bind-to none -x "OMP_NUM_THREADS=$threads")
(( $(id -u) == 0 )) && flags+=(--allow-run-as-root)  # containers often run as root
# shellcheck disable=SC2206  # ELM_MPIRUN_ARGS is split on purpose
flags+=(${ELM_MPIRUN_ARGS:-})
exec "$mpirun_bin" "${flags[@]}" "$bin" train --config "$config" runtime.threads="$threads" "$@"
