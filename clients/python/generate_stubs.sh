#!/usr/bin/env bash
# Regenerates the Python stubs packaged in steering_mesh/proto from proto/ (grpcio-tools), or checks that the
# committed ones are current.
#
#   clients/python/generate_stubs.sh            write src/steering_mesh/proto/*_pb2*.py(i)
#   clients/python/generate_stubs.sh --check    regenerate into a temporary folder and fail if it differs
#
# PYTHON (default python3) must have grpcio-tools at exactly GRPCIO_TOOLS below: its protoc writes the protobuf
# gencode version into every file, and pyproject.toml's protobuf and grpcio ranges start at that version.
# PROTO_DIR overrides the proto root (default: proto/src/main/proto of this repository).
# The generated imports (`from steering.v1 import ...`) are rewritten to the package's own `steering_mesh.proto`.
set -euo pipefail
GRPCIO_TOOLS=1.85.1
here="$(cd "$(dirname "$0")" && pwd)"
protos="${PROTO_DIR:-$here/../../proto/src/main/proto}"
out="$here/src/steering_mesh/proto"
python="${PYTHON:-python3}"

have="$("$python" -c 'import importlib.metadata as m; print(m.version("grpcio-tools"))' 2>/dev/null || echo none)"
if [ "$have" != "$GRPCIO_TOOLS" ]; then
  echo "generate_stubs.sh: $python has grpcio-tools $have; pip install grpcio-tools==$GRPCIO_TOOLS" >&2
  exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$python" -m grpc_tools.protoc -I "$protos" --python_out="$tmp" --pyi_out="$tmp" --grpc_python_out="$tmp" \
  "$protos"/steering/v1/*.proto
mkdir -p "$tmp/gen"
for f in "$tmp"/steering/v1/*; do
  sed -e 's/^from steering\.v1 import /from steering_mesh.proto import /' "$f" > "$tmp/gen/$(basename "$f")"
done
printf '"""Generated gRPC / protobuf stubs of proto/steering/v1 (clients/python/generate_stubs.sh). Do not edit."""\n' \
  > "$tmp/gen/__init__.py"

if [ "${1:-}" = "--check" ]; then
  if ! diff -r "$tmp/gen" "$out" > "$tmp/diff.txt"; then
    head -40 "$tmp/diff.txt" >&2
    echo "clients/python: the packaged stubs are stale; run clients/python/generate_stubs.sh and commit the result" >&2
    exit 1
  fi
  echo "clients/python: stubs match proto/"
else
  rm -rf "$out"
  mkdir -p "$out"
  cp "$tmp"/gen/* "$out/"
  echo "wrote $(ls "$out" | wc -l) files to src/steering_mesh/proto"
fi
