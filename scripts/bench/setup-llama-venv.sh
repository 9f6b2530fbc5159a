#!/usr/bin/env bash
# Creates (or reuses) the virtualenv with llama-cpp-python for scripts/bench/llama_bench.py. Uses PyPI only: the
# sdist compiles llama.cpp with cmake (several minutes on 2 cores, once). Not part of the Java build or the tests.
#
#   scripts/bench/setup-llama-venv.sh [VENV_DIR]     (default: $LLAMA_VENV, else $STEERING_CACHE/llama-venv,
#                                                     STEERING_CACHE defaulting to ~/.cache/steering-mesh)
#
# Idempotent: if the venv already has the pinned version and `import llama_cpp` works, it does nothing.
# Prints the venv path on stdout; progress goes to stderr.
set -euo pipefail

venv="${1:-${LLAMA_VENV:-${STEERING_CACHE:-$HOME/.cache/steering-mesh}/llama-venv}}"
python="${PYTHON:-python3}"
LLAMA_CPP_PYTHON_VERSION="0.3.36"

log() { echo "[setup-llama-venv] $*" >&2; }

check() {
  "$venv/bin/python" - "$LLAMA_CPP_PYTHON_VERSION" <<'PY' 2>/dev/null
import sys, importlib.metadata as md
if md.version("llama_cpp_python") != sys.argv[1]:
    sys.exit(1)
import llama_cpp  # noqa: F401
PY
}

# shellcheck source=../reference/venv-common.sh
. "$(dirname "$0")/../reference/venv-common.sh"
venv_prepare
log "building llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION from source (cmake; several minutes)"
CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
  "${pip[@]}" install --quiet --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" numpy >&2
if ! check; then
  log "verification failed: $venv does not import llama_cpp $LLAMA_CPP_PYTHON_VERSION"
  exit 1
fi
echo "$venv"
