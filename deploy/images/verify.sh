#!/usr/bin/env bash
# Runs a service image without a container runtime and waits for its gRPC health to be SERVING:
#   1. unpacks <service>/target/<service>-image.tar layer by layer (imagetar.py unpack)
#   2. starts the image's entrypoint, with the image's env, user (185) and working directory, in new mount and PID
#      namespaces with the unpacked rootfs as root (util-linux `unshare --root`), read-only as in the Kubernetes
#      manifests, with a tmpfs on /tmp and HOME/DJL_CACHE_DIR there (mesh-config's settings)
#   3. asks grpc.health.v1.Health/Check (grpcurl, from the Go module proxy if missing) until SERVING, lists the
#      services by reflection, calls one read-only RPC, and stops the process it started
#
#   deploy/images/verify.sh SERVICE [--model DIR] [--timeout SECONDS] [--keep]
#
# model-service loads ../shared/models/stories260K-hf by default (bind-mounted read-only at /models/model).
# Ports: gRPC 59150 + n, HTTP 59180 + n (away from the mesh's 50050-50053 and 8080-8083). Needs root.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
service="${1:-}"
shift || true
model="$repo/../shared/models/stories260K-hf"
timeout=300
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
case "$service" in
  model-service) n=1; prefix=MODEL_SERVICE ;;
  sae-service) n=2; prefix=SAE_SERVICE ;;
  vector-service) n=3; prefix=VECTOR_SERVICE ;;
  gateway) n=0; prefix=GATEWAY ;;
  *) sed -n '2,13p' "$0"; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "verify.sh needs root (mount namespace, chroot)" >&2; exit 1; }
image="$repo/$service/target/$service-image.tar"
[ -s "$image" ] || { echo "no $image: run deploy/images/build.sh $service first" >&2; exit 1; }
grpc_port=$((59150 + n))
http_port=$((59180 + n))

start=$SECONDS
step() { printf '[%3ds] %s\n' "$((SECONDS - start))" "$*"; }

grpcurl="$(command -v grpcurl || true)"
if [ -z "$grpcurl" ]; then
  bindir="$(go env GOBIN)"; [ -n "$bindir" ] || bindir="$(go env GOPATH)/bin"
  grpcurl="$bindir/grpcurl"
  [ -x "$grpcurl" ] || { step "installing grpcurl (Go module proxy) ..."; GOBIN="$bindir" go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3; }
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/steering-verify.XXXXXX")"
pid=""
stop_service() {
  # unshare blocks SIGTERM while it waits for its child: stop the service (its child) instead, gracefully first
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  local children signal
  children="$(cat "/proc/$pid/task/$pid/children" 2>/dev/null || true)"
  for signal in TERM KILL; do
    for c in $children; do kill "-$signal" "$c" 2>/dev/null || true; done
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null || break
  done
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_service
  if [ "$keep" = 1 ]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

step "unpacking $service's image ($(du -m "$image" | cut -f1) MB) ..."
python3 "$here/imagetar.py" unpack "$image" "$work/rootfs" | sed 's/^/  /'

# the image's own settings: Env, Entrypoint + Cmd, User, WorkingDir
mapfile -t image_env < <(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["config"]; print("\n".join(c.get("Env") or []))' "$work/rootfs/.image-config.json")
mapfile -t command < <(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["config"]; print("\n".join((c.get("Entrypoint") or []) + (c.get("Cmd") or [])))' "$work/rootfs/.image-config.json")
read -r user workdir < <(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["config"]; print(c.get("User") or "0", c.get("WorkingDir") or "/")' "$work/rootfs/.image-config.json")
uid="${user%%:*}"; gid="${user#*:}"; [ "$gid" != "$user" ] || gid="$(awk -F: -v u="$uid" '$3==u {print $4}' "$work/rootfs/etc/passwd")"
step "entrypoint: ${command[*]} (user $uid:${gid:-$uid}, workdir $workdir)"

# what the Kubernetes manifests set (mesh-config and <service>-config), with this run's ports
env_run=("${image_env[@]}" "STEERING_BIND=127.0.0.1" "HOME=/tmp" "DJL_CACHE_DIR=/tmp/djl" "ENGINE_CACHE_DIR=/tmp/djl"
  "${prefix}_PORT=$grpc_port" "${prefix}_HTTP_PORT=$http_port" "STEERING_DATA_DIR=/tmp/data"
  "STEERING_MODEL_SERVICE_ADDRESS=127.0.0.1:1" "STEERING_SAE_SERVICE_ADDRESS=127.0.0.1:1" "STEERING_VECTOR_SERVICE_ADDRESS=127.0.0.1:1"
  "JAVA_TOOL_OPTIONS=-XX:MaxRAMPercentage=40 -XX:+ExitOnOutOfMemoryError -Xmx1g")
mounts=""
if [ "$service" = model-service ]; then
  [ -d "$model" ] || { echo "no model at $model (--model DIR)" >&2; exit 1; }
  mkdir -p "$work/rootfs/models/model"
  mounts="mount --bind -o ro '$(realpath "$model")' '$work/rootfs/models/model';"
  env_run+=("STEERING_MODEL_PATH=/models/model")
fi

# new mount + PID namespaces: proc, a minimal /dev, tmpfs /tmp, the root read-only; then the entrypoint as uid 185
setup="set -e; mount --make-rprivate /;
  mount --bind '$work/rootfs' '$work/rootfs';
  mount -t tmpfs -o mode=755 tmpfs '$work/rootfs/dev';
  for d in null zero full random urandom tty; do touch '$work/rootfs/dev/'\$d; mount --bind /dev/\$d '$work/rootfs/dev/'\$d; done;
  ln -s /proc/self/fd '$work/rootfs/dev/fd';
  mount -t tmpfs -o mode=1777,size=2g tmpfs '$work/rootfs/tmp';
  mount -t proc proc '$work/rootfs/proc';
  $mounts
  mount -o remount,bind,ro '$work/rootfs';
  exec unshare --root='$work/rootfs' --wd='$workdir' --setgid='${gid:-$uid}' --setuid='$uid' -- \"\$@\""
runtime="$(env -i "${env_run[@]}" unshare --mount --pid --fork --kill-child -- /bin/sh -c "$setup" sh java -XshowSettings:properties -version 2>&1 \
  | sed -n 's/^ *java.runtime.version = /OpenJDK /p; s/^ *java.home = /in /p; s/^ *user.name = /as /p' | tr '\n' ' ')"
step "JVM inside the image: $runtime"
step "starting it (gRPC 127.0.0.1:$grpc_port, HTTP $http_port; log: $work/service.log)"
env -i "${env_run[@]}" unshare --mount --pid --fork --kill-child -- /bin/sh -c "$setup" sh "${command[@]}" \
  > "$work/service.log" 2>&1 &
pid=$!

status=""
while [ $((SECONDS - start)) -lt "$timeout" ]; do
  kill -0 "$pid" 2>/dev/null || { echo "the service exited:" >&2; tail -40 "$work/service.log" >&2; exit 1; }
  status="$("$grpcurl" -plaintext -max-time 3 "127.0.0.1:$grpc_port" grpc.health.v1.Health/Check 2>/dev/null \
    | sed -n 's/.*"status": "\([A-Z_]*\)".*/\1/p')" || true
  [ "$status" = SERVING ] && break
  sleep 2
done
[ "$status" = SERVING ] || { echo "not SERVING after ${timeout}s (last: ${status:-no answer})" >&2; tail -40 "$work/service.log" >&2; exit 1; }
step "grpc.health.v1.Health/Check: SERVING"
step "services (reflection): $("$grpcurl" -plaintext "127.0.0.1:$grpc_port" list | tr '\n' ' ')"
case "$service" in
  model-service)
    step "GetModelInfo: $("$grpcurl" -plaintext "127.0.0.1:$grpc_port" steering.v1.ModelService/GetModelInfo | tr -d '\n' | tr -s ' ' | cut -c1-160)"
    # a forward pass through DJL's PyTorch inside the image: greedy, 8 tokens
    step "Generate: $("$grpcurl" -plaintext -d '{"prompt":{"text":"Once upon a time"},"sampling":{"max_tokens":8}}' \
      "127.0.0.1:$grpc_port" steering.v1.ModelService/Generate | sed -n 's/.*"text_delta": "\(.*\)".*/\1/p' | tr -d '\n')" ;;
  sae-service) step "ListSaes: $("$grpcurl" -plaintext "127.0.0.1:$grpc_port" steering.v1.SaeService/ListSaes | tr -d '\n' | tr -s ' ' | cut -c1-200)" ;;
  vector-service) step "ListVectors: $("$grpcurl" -plaintext "127.0.0.1:$grpc_port" steering.v1.VectorService/ListVectors | tr -d '\n' | tr -s ' ' | cut -c1-200)" ;;
esac
if curl -fsS -o /dev/null "http://127.0.0.1:$http_port/q/metrics" 2>/dev/null; then step "HTTP /q/metrics: 200"; fi
step "log (first lines):"
head -15 "$work/service.log" | cut -c1-200 | sed 's/^/  /'
step "OK: $service's image starts from its own rootfs as uid $uid and reports SERVING"
