#!/usr/bin/env bash
# Trains an SAE on a real model end to end: starts model-service (the model) and sae-service on free loopback
# ports, runs TrainSae through `steer sae` (cli/, progress on stderr, final figures + top contexts as JSON on
# stdout and in the report file), then stops both services.
#
#   scripts/sae/train-sae.sh [--model PATH] [--report FILE] [-- [train|evaluate] CLI options]
#
# Defaults reproduce the documented SmolLM2-135M-Instruct run (docs/sae-service.md):
#   model    the GGUF printed by scripts/fetch-model.sh
#   options  --hook blocks.15.hook_resid_post --dataset tinystories-1000 --dataset wikitext103-1000
#            --d-sae 4608 --k 32 --max-tokens 250000 --epochs 4 --lr 3e-3 --batch-size 1024 --context-size 128
#            --spliced-windows 16 --top-contexts 8 --seed 1 --id smollm2-135m-L15-resid_post-topk-4608 --overwrite
# Environment: STEERING_DATA_DIR (SAEs go to $STEERING_DATA_DIR/saes, default ~/.cache/steering-mesh; STEERING_DATA is the old name),
# STEERING_CORPUS_DIR (default ../shared/data beside the repository), MODEL_JAVA_OPTS and SAE_JAVA_OPTS (JVM options
# of the two services; by default one PyTorch thread each: on a small shared machine PyTorch's spin-waiting worker
# threads collapse under contention -- SmolLM2 capture measured 29 tokens/s with the default 2+2 threads against
# 189 tokens/s with 1+1 on the same busy 2-core host).
# Builds the jars first when they are missing (mvn install -DskipTests for proto, common, model-service, sae-service, cli).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
model=""
report=""
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --report) report="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "unknown option $1 (CLI options go after --)" >&2; exit 2 ;;
  esac
done
if [ $# -eq 0 ]; then
  set -- train --hook blocks.15.hook_resid_post --dataset tinystories-1000 --dataset wikitext103-1000 \
         --d-sae 4608 --k 32 --max-tokens 250000 --epochs 4 --lr 3e-3 --batch-size 1024 --context-size 128 \
         --spliced-windows 16 --top-contexts 8 --seed 1 --id smollm2-135m-L15-resid_post-topk-4608 --overwrite
fi
case "${1:-}" in train|evaluate) ;; *) set -- train "$@" ;; esac
command="$1"; shift
[ -n "$model" ] || model="$(bash "$repo/scripts/fetch-model.sh")"
data="${STEERING_DATA_DIR:-${STEERING_DATA:-$HOME/.cache/steering-mesh}}"
corpus="${STEERING_CORPUS_DIR:-$repo/../shared/data}"
[ -n "$report" ] || report="$data/reports/sae-$command-$(date -u +%Y%m%dT%H%M%SZ).json"
mkdir -p "$(dirname "$report")"

ms_app="$repo/model-service/target/quarkus-app"
sae_app="$repo/sae-service/target/quarkus-app"
steer_jar="$repo/cli/target/steer.jar"
if [ ! -f "$ms_app/quarkus-run.jar" ] || [ ! -f "$sae_app/quarkus-run.jar" ] || [ ! -f "$steer_jar" ]; then
  echo "building model-service, sae-service and steer ..." >&2
  (cd "$repo" && mvn -B -q install -DskipTests -pl proto,common,model-service,sae-service,cli) >&2
fi

logs="$(mktemp -d "${TMPDIR:-/tmp}/sae-train.XXXXXX")"
# run from copies, so that rebuilding the modules meanwhile does not pull jars from under the running services
cp -r "$ms_app" "$logs/model-service" && ms_app="$logs/model-service"
cp -r "$sae_app" "$logs/sae-service" && sae_app="$logs/sae-service"
cp "$steer_jar" "$logs/steer.jar" && steer_jar="$logs/steer.jar"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ms_port="$(free_port)"; ms_http="$(free_port)"; sae_port="$(free_port)"; sae_http="$(free_port)"
pids=()
one_thread="-Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1"
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$logs/model-service" "$logs/sae-service" "$logs/steer.jar"
}
trap cleanup EXIT

echo "model-service on 127.0.0.1:$ms_port ($model), logs in $logs" >&2
STEERING_MODEL_PATH="$model" MODEL_SERVICE_PORT="$ms_port" MODEL_SERVICE_HTTP_PORT="$ms_http" \
  java ${MODEL_JAVA_OPTS:-$one_thread} -Dai.djl.offline=true -jar "$ms_app/quarkus-run.jar" >"$logs/model-service.log" 2>&1 &
pids+=($!)
echo "sae-service on 127.0.0.1:$sae_port, SAEs in $data/saes" >&2
STEERING_MODEL_SERVICE_ADDRESS="127.0.0.1:$ms_port" SAE_SERVICE_PORT="$sae_port" SAE_SERVICE_HTTP_PORT="$sae_http" \
  STEERING_DATA_DIR="$data" STEERING_CORPUS_DIR="$corpus" \
  java ${SAE_JAVA_OPTS:--Xmx6g $one_thread} -Dai.djl.offline=true -jar "$sae_app/quarkus-run.jar" >"$logs/sae-service.log" 2>&1 &
pids+=($!)

start=$(date +%s)
java -jar "$steer_jar" sae "$command" --sae-service "127.0.0.1:$sae_port" --report "$report" "$@"
echo "wall time $(( $(date +%s) - start )) s; report in $report" >&2
