#!/usr/bin/env bash
# Configures and builds ExplicitLM into build/ (Release), installing dependencies first if any
# are missing. Extra arguments go to cmake's configure step, e.g. -DELM_WITH_CUDA=OFF.
#   tools/build.sh                 build everything (library, explicitlm, tests, benchmarks)
#   BUILD_DIR=build-dbg tools/build.sh -DCMAKE_BUILD_TYPE=Debug
#   BUILD_TARGETS=explicitlm tools/build.sh    only these targets
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"
jobs="${JOBS:-$(nproc)}"

if ! bash "$root/tools/setup.sh" --check >/dev/null 2>&1; then
  bash "$root/tools/setup.sh"
fi
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
# Paths under the checkout become relative in ccache's keys: another checkout of the same sources
# (CI's clean clone, a git worktree) hits the cache instead of recompiling everything.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"
# PCH files change mtime on every rebuild; let ccache key on content instead.
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"

# Configure when there is no generated build system yet (also after a failed first configure).
if [[ ! -f "$build_dir/Makefile" && ! -f "$build_dir/build.ninja" ]] || (( $# > 0 )); then
  cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}" "$@" >/dev/null
fi
targets=()
for t in ${BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j "$jobs" "${targets[@]}"
echo "build.sh: built ${BUILD_TARGETS:-everything} in $build_dir"
