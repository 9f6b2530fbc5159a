#!/usr/bin/env bash
# End-to-end: starts model-service (stories260K) and the gateway from their built jars on free loopback ports, then
# runs the polyglot clients against the gateway: Python (official `openai` client on the HTTP API, grpcio with stubs
# generated from proto/) and Node.js (@grpc/grpc-js with the protos loaded at run time). Stops everything at the end.
#
#   scripts/e2e.sh        (needs the jars: mvn install -DskipTests)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cache="${STEERING_CACHE:-$HOME/.cache/steering-mesh}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
model_port=$(free_port); model_http=$(free_port); gw_port=$(free_port); gw_http=$(free_port)

echo "==> starting model-service (stories260K) on $model_port and the gateway on $gw_port / http $gw_http"
STEERING_MODEL_PATH=../shared/models/stories260K-hf MODEL_SERVICE_PORT=$model_port MODEL_SERVICE_HTTP_PORT=$model_http \
  OMP_WAIT_POLICY=PASSIVE java -Xmx512m --add-modules jdk.incubator.vector -jar model-service/target/quarkus-app/quarkus-run.jar > "$work/model-service.log" 2>&1 &
pids+=($!)
STEERING_MODEL_SERVICE_ADDRESS=127.0.0.1:$model_port GATEWAY_PORT=$gw_port GATEWAY_HTTP_PORT=$gw_http \
  java -Xmx256m -jar gateway/target/quarkus-app/quarkus-run.jar > "$work/gateway.log" 2>&1 &
pids+=($!)
if ! timeout 120 java -jar cli/target/steer.jar wait --model-service 127.0.0.1:$model_port \
   || ! timeout 60 java -jar cli/target/steer.jar wait --model-service 127.0.0.1:$gw_port; then
  tail -30 "$work/model-service.log" "$work/gateway.log" >&2
  exit 1
fi

echo "==> Python clients (openai, grpcio)"
venv="$cache/venv-clients"
if [ ! -x "$venv/bin/pytest" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check openai pytest grpcio grpcio-tools
fi
mkdir -p "$work/stubs"
"$venv/bin/python" -m grpc_tools.protoc -I proto/src/main/proto --python_out="$work/stubs" --grpc_python_out="$work/stubs" \
  proto/src/main/proto/steering/v1/*.proto
GATEWAY_HTTP=http://127.0.0.1:$gw_http GATEWAY_GRPC=127.0.0.1:$gw_port STUBS="$work/stubs" \
  "$venv/bin/pytest" -q -p no:cacheprovider clients/python

echo "==> Node.js client (@grpc/grpc-js)"
(cd clients/node && npm install --silent --no-audit --no-fund > /dev/null)
GATEWAY_GRPC=127.0.0.1:$gw_port node --test clients/node/test_gateway.mjs
echo "==> end-to-end clients passed"
