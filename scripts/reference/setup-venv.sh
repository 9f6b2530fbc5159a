#!/usr/bin/env bash
# Creates (or refreshes) the Python virtualenv used by the reference tooling in scripts/reference/ and
# scripts/bench/: CPU PyTorch, Hugging Face transformers (+ accelerate, needed to load GGUF files), gguf, numpy.
# Not part of the Java build. Uses PyPI only.
#
#   scripts/reference/setup-venv.sh [VENV_DIR]        (default: $REF_VENV, else /tmp/steering-ref-venv)
#
# Idempotent: if the venv already has the pinned versions and `import torch` works, it does nothing.
#
# About torch: PyPI's Linux x86_64 torch wheel is a CUDA build. `pip install --no-deps torch` alone does NOT work:
# libtorch_cuda.so has hard DT_NEEDED links on libcudart/libcublas/libcudnn/libnccl/... so `import torch` fails
# without the nvidia-* wheels (the CPU-only wheels live on download.pytorch.org, which is not reachable here).
# We therefore install torch with --no-deps and then its declared requirements minus triton (~1 GB, only used by
# torch.compile / GPU kernels). The venv still ends up ~4 GB, nearly all of it CUDA libraries that are never used.
# accelerate is installed with --no-deps for the same reason (its `torch` requirement would drag triton back in).
set -euo pipefail

venv="${1:-${REF_VENV:-/tmp/steering-ref-venv}}"
python="${PYTHON:-python3}"

TORCH_VERSION="2.15.0"
TRANSFORMERS_VERSION="5.23.0"
ACCELERATE_VERSION="1.15.0"
GGUF_VERSION="0.19.0"
NUMPY_SPEC="numpy>=1.26,<3"

log() { echo "[setup-venv] $*" >&2; }

check() {
  "$venv/bin/python" - "$TORCH_VERSION" "$TRANSFORMERS_VERSION" "$ACCELERATE_VERSION" "$GGUF_VERSION" <<'EOF' 2>/dev/null
import sys, importlib.metadata as md
want = dict(zip(["torch", "transformers", "accelerate", "gguf"], sys.argv[1:]))
for name, version in want.items():
    if md.version(name).split("+")[0] != version:
        sys.exit(1)
import numpy, torch, transformers, gguf, accelerate  # noqa: F401
x = torch.ones(4, 4)
assert float((x @ x).sum()) == 64.0
EOF
}

# shellcheck source=venv-common.sh
. "$(dirname "$0")/venv-common.sh"
venv_prepare

log "installing torch==$TORCH_VERSION (no deps)"
"${pip[@]}" install --quiet --no-deps "torch==$TORCH_VERSION" >&2

# torch's own requirements for this platform, minus triton
mapfile -t torch_reqs < <("$venv/bin/python" - <<'EOF'
import importlib.metadata as md
from pip._vendor.packaging.requirements import Requirement
for spec in md.requires("torch") or []:
    req = Requirement(spec)
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue
    if req.name.lower() == "triton":
        continue
    print(spec.split(";")[0].strip())
EOF
)
log "installing torch's runtime requirements (without triton; pip's 'triton ... is not installed' warning is expected): ${torch_reqs[*]}"
"${pip[@]}" install --quiet "${torch_reqs[@]}" >&2

log "installing transformers==$TRANSFORMERS_VERSION gguf==$GGUF_VERSION accelerate==$ACCELERATE_VERSION"
"${pip[@]}" install --quiet "transformers==$TRANSFORMERS_VERSION" "gguf==$GGUF_VERSION" "$NUMPY_SPEC" psutil pyyaml >&2
"${pip[@]}" install --quiet --no-deps "accelerate==$ACCELERATE_VERSION" >&2

if ! check; then
  log "verification failed: the venv at $venv does not import torch/transformers/gguf/accelerate correctly"
  "$venv/bin/python" -c "import torch, transformers, gguf, accelerate" >&2 || true
  exit 1
fi
"$venv/bin/python" -c "import torch; print('[setup-venv] torch', torch.__version__, 'cuda available:', torch.cuda.is_available(), 'threads:', torch.get_num_threads())" >&2
echo "$venv"
