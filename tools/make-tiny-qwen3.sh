#!/usr/bin/env bash
# Writes a tiny random Qwen3 in HF layout (config.json, model.safetensors, tokenizer files).
# A thin wrapper over `explicitlm make-tiny-qwen3` that builds the project first if needed.
#   tools/make-tiny-qwen3.sh build/models/qwen3-tiny [--seed 1] [--hidden-size 128] [--dtype f32] ...
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${BUILD_DIR:-$root/build}/bin/explicitlm"
if (( $# < 1 )) || [[ "$1" == -h || "$1" == --help ]]; then
  sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'
  "$bin" make-tiny-qwen3 --help 2>/dev/null | sed -n '/^Options:/,$p' || true
  exit 0
fi
out="$1"
shift
[[ -x "$bin" ]] || BUILD_TARGETS=explicitlm bash "$root/tools/build.sh" >&2
exec "$bin" make-tiny-qwen3 --out "$out" "$@"
