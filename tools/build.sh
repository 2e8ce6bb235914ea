#!/usr/bin/env bash
# Configures and builds ExplicitLM into build/ (Release), installing dependencies first if any
# are missing. Extra arguments go to cmake's configure step, e.g. -DELM_WITH_CUDA=OFF.
#   tools/build.sh                 build everything (library, explicitlm, tests, benchmarks)
#   BUILD_DIR=build-dbg tools/build.sh -DCMAKE_BUILD_TYPE=Debug
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"
jobs="${JOBS:-$(nproc)}"

if ! bash "$root/tools/setup.sh" --check >/dev/null 2>&1; then
  bash "$root/tools/setup.sh"
fi
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
# PCH files change mtime on every rebuild; let ccache key on content instead.
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"

if [[ ! -f "$build_dir/CMakeCache.txt" ]] || (( $# > 0 )); then
  cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}" "$@" >/dev/null
fi
cmake --build "$build_dir" -j "$jobs"
echo "build.sh: built $build_dir/bin/explicitlm"
