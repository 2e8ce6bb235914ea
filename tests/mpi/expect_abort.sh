#!/usr/bin/env bash
# Runs a command that must abort: it has to exit non-zero, print EXPECTED (a fixed string), and end
# within MAX_SECONDS. Used by ctest for "an error on one rank stops all ranks".
#   tests/mpi/expect_abort.sh MAX_SECONDS EXPECTED COMMAND...
set -u
if [ $# -lt 3 ]; then
  echo "usage: $0 MAX_SECONDS EXPECTED COMMAND..." >&2
  exit 2
fi
max_seconds=$1
expected=$2
shift 2

start=$(date +%s%N)
# A hard stop well past the limit, so a hang fails this test instead of ctest's timeout.
output=$(timeout --kill-after=10 $((max_seconds * 2)) "$@" 2>&1)
status=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
printf '%s\n' "$output"
echo "--- exit status $status after ${elapsed_ms} ms"

failed=0
if [ "$status" -eq 0 ]; then
  echo "FAIL: the command exited 0; it should have aborted" >&2
  failed=1
fi
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "FAIL: the command hung and was killed after $((max_seconds * 2)) s" >&2
  failed=1
fi
if ! grep -qF -- "$expected" <<<"$output"; then
  echo "FAIL: the output does not contain: $expected" >&2
  failed=1
fi
if [ "$elapsed_ms" -gt $((max_seconds * 1000)) ]; then
  echo "FAIL: took ${elapsed_ms} ms, more than ${max_seconds} s" >&2
  failed=1
fi
exit "$failed"
