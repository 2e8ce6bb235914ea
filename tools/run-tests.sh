#!/usr/bin/env bash
# Builds everything (installing dependencies if missing) and runs every test through ctest.
#   tools/run-tests.sh              all tests
#   tools/run-tests.sh -R Tokenizer only tests whose name matches (any ctest arguments work)
# As root it also installs the packages of the end-to-end Slurm test (tools/setup.sh --slurm);
# without them (or without root) that test is skipped and says why, unless ELM_REQUIRE_SLURM=1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"
if (( $(id -u) == 0 )); then bash "$root/tools/setup.sh" --slurm; fi
bash "$root/tools/build.sh"
cd "$build_dir"
# Every test binary uses one thread per process so parallel ctest jobs don't oversubscribe cores.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
ctest --output-on-failure --timeout 900 -j "${JOBS:-$(nproc)}" "$@"
