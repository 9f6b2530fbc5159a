#!/usr/bin/env bash
# Builds the container images of the four services without a Docker daemon or a container registry:
#   1. the base image (Debian 12 packages + OpenJDK 17 JRE, deploy/images/base), built once and cached under
#      $STEERING_IMAGE_CACHE (default ~/.cache/steering-mesh/images), keyed by the hash of its recipe
#   2. mvn -Dimages package: Quarkus' Jib extension puts each service's fast-jar on top of it and writes
#      <service>/target/<service>-image.tar (docker-archive format: `docker load`, `kind load image-archive`,
#      `ctr images import`, `crane push`, `skopeo copy docker-archive:...` all read it)
#   3. prints each image's name, size and digests
#
#   deploy/images/build.sh [--rebuild-base] [--base-only] [SERVICE ...]     (default: all four services)
#   deploy/images/build.sh --gpu     model-service's CUDA flavour, steering/model-service:0.1.0-cuda, from the
#                                    model-service `gpu` profile: model-service/target/model-service-gpu-image.tar
#                                    (docs/deploy.md, "GPU": DJL fetches the CUDA libtorch when the pod first starts)
#
# Needs Java 17 + Maven, python3, and for the base image (first run only) root, apt-get and dpkg-deb; --gpu also
# pip (its base image adds NVIDIA's CUDA runtime from the PyPI wheel pinned below).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
all_services=(model-service sae-service vector-service gateway)
rebuild_base=0
base_only=0
gpu=0
services=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rebuild-base) rebuild_base=1 ;;
    --base-only) base_only=1 ;;
    --gpu) gpu=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    model-service|sae-service|vector-service|gateway) services+=("$1") ;;
    *) echo "unknown argument: $1 (services: ${all_services[*]})" >&2; exit 2 ;;
  esac
  shift
done
if [ "$gpu" = 1 ]; then
  # only model-service runs models; the other three images are the same for CPU and GPU clusters
  for s in "${services[@]}"; do
    [ "$s" = model-service ] || { echo "--gpu builds model-service only, not $s" >&2; exit 2; }
  done
  services=(model-service)
fi
[ ${#services[@]} -gt 0 ] || services=("${all_services[@]}")
flavour=""
mvn_flavour=()
if [ "$gpu" = 1 ]; then flavour="-gpu"; mvn_flavour=(-Dgpu); fi

start=$SECONDS
step() { printf '[%3ds] %s\n' "$((SECONDS - start))" "$*"; }

# --- 1. base image ------------------------------------------------------------------------------------------------
cache="${STEERING_IMAGE_CACHE:-$HOME/.cache/steering-mesh/images}"
# --gpu: NVIDIA's CUDA runtime for DJL's GPU count (build-base.sh, step 5), the version of PyTorch 2.7.1's cu128 build
cudart_pin="nvidia-cuda-runtime-cu12==12.8.57"
cudart_file="nvidia_cuda_runtime_cu12-12.8.57-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
cudart_sha256="75342e28567340b7428ce79a5d6bb6ca5ff9d07b69e7ce00d2c7b4dc23eff0be"
recipe() { cat "$here/base/packages.txt" "$here/base/build-base.sh" "$here/base/Cacerts.java" "$here/imagetar.py"; }
if [ "$gpu" = 1 ]; then
  key="$( (recipe; echo "$cudart_sha256") | sha256sum | cut -c1-12)"
  base="$cache/base-cuda-$key.tar"
  base_tag="steering/base-jre17-cudart12:$key"
else
  key="$(recipe | sha256sum | cut -c1-12)"
  base="$cache/base-$key.tar"
  base_tag="steering/base-jre17:$key"
fi
if [ "$rebuild_base" = 1 ] || [ ! -s "$base" ]; then
  [ "$(id -u)" = 0 ] || { echo "building the base image needs root (apt-get download, chroot); run as root once" >&2; exit 1; }
  cudart_wheel=()
  if [ "$gpu" = 1 ]; then
    mkdir -p "$cache/wheels"
    if ! echo "$cudart_sha256  $cache/wheels/$cudart_file" | sha256sum -c --status 2>/dev/null; then
      step "pip download $cudart_pin ..."
      python3 -m pip download -q --no-deps --only-binary=:all: -d "$cache/wheels" "$cudart_pin"
      echo "$cudart_sha256  $cache/wheels/$cudart_file" | sha256sum -c --status \
        || { echo "$cache/wheels/$cudart_file: missing or not sha256 $cudart_sha256" >&2; exit 1; }
    fi
    cudart_wheel=("$cache/wheels/$cudart_file")
  fi
  step "building the base image $base (Debian packages, once) ..."
  "$here/base/build-base.sh" "$base" "$base_tag" "${cudart_wheel[@]}"
else
  step "base image (cached): $base"
fi
[ "$gpu" = 1 ] || ln -sfn "base-$key.tar" "$cache/base.tar"
[ "$base_only" = 0 ] || exit 0

# --- 2. the service images ----------------------------------------------------------------------------------------
modules="$(IFS=,; echo "${services[*]}")"
step "mvn -Dimages ${mvn_flavour[*]:+${mvn_flavour[*]} }package -DskipTests -pl $modules -am ..."
for s in "${services[@]}"; do rm -f "$repo/$s/target/$s$flavour-image.tar" "$repo/$s/target/jib-image.digest" "$repo/$s/target/jib-image.id"; done
(cd "$repo" && mvn -B -q -Dimages "${mvn_flavour[@]}" "-Dsteering.image.base=tar://$base" package -DskipTests -pl "$modules" -am)

# --- 3. report ----------------------------------------------------------------------------------------------------
step "images:"
printf '%-32s %7s  %-71s  %-71s  %s\n' "image" "MB" "image id (config digest)" "manifest digest (Jib)" "file"
for s in "${services[@]}"; do
  tar="$repo/$s/target/$s$flavour-image.tar"
  [ -s "$tar" ] || { echo "missing: ${tar#$repo/} (did the Jib build run?)" >&2; exit 1; }
  python3 - "$tar" "$repo/$s/target/jib-image.digest" "$repo" <<'EOF'
import json, os, sys
sys.path.insert(0, os.path.join(sys.argv[3], "deploy/images"))
import imagetar
d = imagetar.describe(sys.argv[1])
digest = open(sys.argv[2]).read().strip() if os.path.exists(sys.argv[2]) else "?"
print(f"{d['tags'][0]:32s} {d['file_size'] / 1e6:7.1f}  {d['image_id']:71s}  {digest:71s}  {os.path.relpath(sys.argv[1], sys.argv[3])}")
EOF
done
step "done. Inspect: deploy/images/imagetar.py inspect <tar>; run one: deploy/images/verify.sh <service>"
