#!/usr/bin/env bash
# End-to-end: starts the mesh on stories260K from the built jars on free loopback ports (model-service, sae-service
# and vector-service with a temporary data directory, the gateway, a second gateway with mTLS and an API key, and a
# third with an API key only, for the playground's key dialog),
# then runs the polyglot clients: Python (the steering_mesh package, pip-installed from clients/python into the
# venv, with a tiny SAE it trains itself; the official `openai` client on the HTTP API; plain grpcio with the
# packaged stubs, which must match proto/), Node.js (@grpc/grpc-js with the protos loaded at run time) and the
# gateway's playground page in a real browser (Debian's chromium and chromium-driver, installed here when missing,
# driven by selenium). Then SIGTERMs the gateway and model-service during 8 running streams each
# (scripts/faults/graceful_shutdown.py: every stream must finish). Stops everything at the end.
#
#   UPDATE_SCREENSHOTS=1 scripts/e2e.sh   also writes the playground's screenshots into docs/images/
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
sae_port=$(free_port); sae_http=$(free_port); vec_port=$(free_port); vec_http=$(free_port)
tls_gw_port=$(free_port); tls_gw_http=$(free_port); key_gw_port=$(free_port); key_gw_http=$(free_port)
deploy/tls/make-certs.sh "$work/certs" > /dev/null
api_key="e2e-$RANDOM$RANDOM"

echo "==> starting model-service (stories260K) on $model_port, sae-service on $sae_port, vector-service on $vec_port,"
echo "    the gateway on $gw_port / http $gw_http, a gateway with mTLS + API key on $tls_gw_port and one with an API key"
echo "    on $key_gw_port / http $key_gw_http"
STEERING_MODEL_PATH=../shared/models/stories260K-hf MODEL_SERVICE_PORT=$model_port MODEL_SERVICE_HTTP_PORT=$model_http \
  OMP_WAIT_POLICY=PASSIVE java -Xmx512m --add-modules jdk.incubator.vector -jar model-service/target/quarkus-app/quarkus-run.jar > "$work/model-service.log" 2>&1 &
pids+=($!)
STEERING_DATA_DIR="$work/data" STEERING_MODEL_SERVICE_ADDRESS=127.0.0.1:$model_port SAE_SERVICE_PORT=$sae_port \
  SAE_SERVICE_HTTP_PORT=$sae_http OMP_WAIT_POLICY=PASSIVE java -Xmx512m -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 \
  -Dai.djl.pytorch.num_interop_threads=1 -jar sae-service/target/quarkus-app/quarkus-run.jar > "$work/sae-service.log" 2>&1 &
pids+=($!)
STEERING_DATA_DIR="$work/data" STEERING_MODEL_SERVICE_ADDRESS=127.0.0.1:$model_port STEERING_SAE_SERVICE_ADDRESS=127.0.0.1:$sae_port \
  VECTOR_SERVICE_PORT=$vec_port VECTOR_SERVICE_HTTP_PORT=$vec_http java -Xmx256m -jar vector-service/target/quarkus-app/quarkus-run.jar > "$work/vector-service.log" 2>&1 &
pids+=($!)
# 512 MB: Evaluate's embedding judge (all-MiniLM-L6-v2 on ONNX Runtime) runs out of a 256 MB heap
STEERING_DATA_DIR="$work/data" STEERING_MODEL_SERVICE_ADDRESS=127.0.0.1:$model_port STEERING_VECTOR_SERVICE_ADDRESS=127.0.0.1:$vec_port \
  STEERING_SAE_SERVICE_ADDRESS=127.0.0.1:$sae_port GATEWAY_PORT=$gw_port GATEWAY_HTTP_PORT=$gw_http java -Xmx512m -jar gateway/target/quarkus-app/quarkus-run.jar > "$work/gateway.log" 2>&1 &
pids+=($!)
STEERING_TLS_CA="$work/certs/ca.crt" STEERING_TLS_CERT="$work/certs/server.crt" STEERING_TLS_KEY="$work/certs/server.key" \
  STEERING_TLS_CLIENT_AUTH=REQUIRED STEERING_API_KEYS="$api_key" STEERING_MODEL_SERVICE_ADDRESS=127.0.0.1:$model_port STEERING_DATA_DIR="$work/data-tls" \
  GATEWAY_PORT=$tls_gw_port GATEWAY_HTTP_PORT=$tls_gw_http java -Xmx192m -jar gateway/target/quarkus-app/quarkus-run.jar > "$work/gateway-tls.log" 2>&1 &
pids+=($!)
# the playground behind an API key (plaintext to model-service, so that the page works once the key is given)
STEERING_API_KEYS="$api_key" STEERING_MODEL_SERVICE_ADDRESS=127.0.0.1:$model_port GATEWAY_PORT=$key_gw_port GATEWAY_HTTP_PORT=$key_gw_http \
  java -Xmx192m -jar gateway/target/quarkus-app/quarkus-run.jar > "$work/gateway-key.log" 2>&1 &
pids+=($!)

echo "==> Python venv: openai, pytest, grpcio-tools and pip install ./clients/python (while the services start)"
venv="$cache/venv-clients"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check openai pytest grpcio-tools==1.85.1 selenium
"$venv/bin/pip" install --quiet --disable-pip-version-check ./clients/python  # rebuilt and reinstalled every run
PYTHON="$venv/bin/python" clients/python/generate_stubs.sh --check
scripts/install-chromium.sh

steer=(java -jar cli/target/steer.jar)
if ! timeout 120 "${steer[@]}" wait --model-service 127.0.0.1:$model_port \
   || ! timeout 60 "${steer[@]}" wait --model-service 127.0.0.1:$sae_port \
   || ! timeout 60 "${steer[@]}" wait --model-service 127.0.0.1:$vec_port \
   || ! timeout 60 "${steer[@]}" wait --model-service 127.0.0.1:$gw_port \
   || ! timeout 60 "${steer[@]}" wait --model-service 127.0.0.1:$key_gw_port \
   || ! timeout 60 "${steer[@]}" wait --model-service localhost:$tls_gw_port --tls-ca "$work/certs/ca.crt" \
        --tls-cert "$work/certs/client.crt" --tls-key "$work/certs/client.key"; then
  tail -n 30 "$work"/*.log >&2
  exit 1
fi

echo "==> Python clients (steering_mesh, openai, grpcio)"
GATEWAY_HTTP=http://127.0.0.1:$gw_http GATEWAY_GRPC=127.0.0.1:$gw_port \
  MESH_GATEWAY=127.0.0.1:$gw_port MESH_MODEL_SERVICE=127.0.0.1:$model_port MESH_SAE_SERVICE=127.0.0.1:$sae_port \
  MESH_VECTOR_SERVICE=127.0.0.1:$vec_port MESH_SECURE_GATEWAY=127.0.0.1:$tls_gw_port MESH_TLS_DIR="$work/certs" \
  MESH_API_KEY="$api_key" "$venv/bin/pytest" -q -p no:cacheprovider clients/python

echo "==> Node.js client (@grpc/grpc-js)"
(cd clients/node && npm install --silent --no-audit --no-fund > /dev/null)
GATEWAY_GRPC=127.0.0.1:$gw_port node --test clients/node/test_gateway.mjs
echo "==> the playground in chromium (selenium)"
shots="$work/screenshots"
[ "${UPDATE_SCREENSHOTS:-0}" = 1 ] && shots="$root/docs/images"
PLAYGROUND_URL=http://127.0.0.1:$gw_http PLAYGROUND_KEYED_URL=http://127.0.0.1:$key_gw_http MESH_API_KEY="$api_key" \
  MESH_GATEWAY=127.0.0.1:$gw_port MESH_MODEL_SERVICE=127.0.0.1:$model_port MESH_SAE_SERVICE=127.0.0.1:$sae_port \
  MESH_VECTOR_SERVICE=127.0.0.1:$vec_port SCREENSHOT_DIR="$shots" "$venv/bin/pytest" -q -p no:cacheprovider gateway/src/test/browser
echo "==> graceful shutdown: SIGTERM during 8 running streams (the gateway, then model-service)"
"$venv/bin/python" scripts/faults/graceful_shutdown.py 127.0.0.1:$gw_port "${pids[3]}" gateway
"$venv/bin/python" scripts/faults/graceful_shutdown.py 127.0.0.1:$model_port "${pids[0]}" model
echo "==> end-to-end clients passed"
