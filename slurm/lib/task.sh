#!/usr/bin/env bash
# One task of a job step (started by elm_run_ranks in slurm/lib/common.sh on every rank): binds
# the task to its GPU, then becomes the command, so that signals reach the command itself.
set -euo pipefail
# shellcheck source=slurm/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
elm_bind_gpu
exec "$@"
