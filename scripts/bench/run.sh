#!/usr/bin/env bash
# Benchmark: model-service's engine (Java, DJL/PyTorch) and, as the reference peer, Hugging Face transformers
# (PyTorch eager) on the same SmolLM2 GGUF, one after the other in one run, on this machine.
#
#   scripts/bench/run.sh [--tokens 64] [--repeats 3]          SKIP_PEER=1 skips transformers
#
# Prints decode tokens/s at batch 1 and 8 (unsteered and with one ALL-positions vector), prefill tokens/s for a
# 256-token prompt and resident memory; the transformers figures follow in the same format.
set -euo pipefail
cd "$(dirname "$0")/../.."
tokens=64
repeats=3
while [ $# -gt 0 ]; do
  case "$1" in
    --tokens) tokens="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
model="$(scripts/fetch-model.sh smollm2-135m-instruct)"
if [ ! -f model-service/target/quarkus-app/quarkus-run.jar ]; then
  mvn -B -q install -DskipTests
fi
app=model-service/target/quarkus-app
echo "=== model-service engine (Java, DJL + PyTorch $(nproc) cores) ==="
OMP_WAIT_POLICY=PASSIVE java -Xmx1g -Dai.djl.offline=true \
  -cp "$app/lib/boot/*:$app/lib/main/*:$app/app/*" steering.model.bench.DecodeBenchmark "$model" \
  --tokens "$tokens" --repeats "$repeats" --batches 1,8 --prefill 256 2> >(grep -vE ' (INFO|WARN) ' >&2)
export OMP_WAIT_POLICY=PASSIVE  # both peers: libgomp threads sleep instead of spinning (see docs/design.md)
if [ "${SKIP_PEER:-0}" != 1 ]; then
  echo
  echo "=== reference peer: Hugging Face transformers (PyTorch eager, float32) ==="
  venv="$(scripts/reference/setup-venv.sh)"
  "$venv/bin/python" scripts/bench/transformers_bench.py --gguf "$model" --tokens "$tokens" --repeats "$repeats" --batch-sizes 1,8
fi
