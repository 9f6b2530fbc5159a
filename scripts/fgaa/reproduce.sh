#!/usr/bin/env bash
# Regenerates docs/fgaa-reproduction/: the FGAA paper's comparison (CAA, SAE decoder, SAE-TS and FGAA on nine tasks,
# a scale sweep from the prompt "I think") on SmolLM2-135M-Instruct, through the mesh's public APIs.
#
#   scripts/fgaa/reproduce.sh [steer reproduce-fgaa options, e.g. --samples 32 --only love,wedding --force]
#
# Each step is skipped when its artifact exists, so an interrupted run resumes:
#   1. the SAE at blocks.15.hook_resid_post (scripts/sae/train-sae.sh, ~21 min on 2 cores) in $STEERING_DATA_DIR/saes
#   2. the mesh on loopback (deploy/local/up.sh --no-demo; model-service batches up to 16 sequences)
#   3. the SAE-TS effect approximator for that SAE (vector-service, ~20 min), made by `steer reproduce-fgaa`
#   4. per task: the four vectors, then the sweep through the gateway's Evaluate (~4-5 min per task at 16 samples)
#   5. the report: docs/fgaa-reproduction/results.md and plots.html
# The mesh stays up afterwards (deploy/local/down.sh stops it).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
sae_id="smollm2-135m-L15-resid_post-topk-4608"
data="${STEERING_DATA_DIR:-${STEERING_DATA:-$HOME/.cache/steering-mesh}}"

if [ ! -f "$data/saes/$sae_id/sae_weights.safetensors" ]; then
  echo "==> training the SAE $sae_id (once)"
  bash scripts/sae/train-sae.sh
fi
STEERING_MODEL_MAX_BATCH="${STEERING_MODEL_MAX_BATCH:-16}" bash deploy/local/up.sh --no-demo
if ! java -jar cli/target/steer.jar saes 2>/dev/null | grep -q "$sae_id"; then
  echo "sae-service does not list $sae_id (was the mesh started before the SAE existed? deploy/local/down.sh, then retry)" >&2
  exit 1
fi
java -jar cli/target/steer.jar reproduce-fgaa --sae "$sae_id" --train-approximator --out docs/fgaa-reproduction "$@"
