#!/usr/bin/env bash
# The SmolLM2-135M-Instruct CPU-budget protocol of docs/vector-service.md: trains (once) an SAE at
# blocks.15.hook_resid_post through sae-service, then an SAE-TS effect approximator through vector-service, all on
# loopback inside one JVM, and prints the figures (SAE metrics, approximator metrics, wall time).
#
#   scripts/vector/smollm2-protocol.sh [JVM -D options, e.g. -Dsteering.vector.protocol.decoder=256]
#
# Needs SmolLM2 in the cache (scripts/fetch-model.sh). Compiles vector-service's tests, then runs the protocol from a
# copy of the classpath, so that builds that replace jars in ~/.m2 meanwhile cannot break a run of half an hour.
# The SAE and the approximators are kept in ${STEERING_CACHE:-~/.cache/steering-mesh}/protocol
# (-Dsteering.vector.protocol.dir=...).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
bash scripts/fetch-model.sh > /dev/null
if ! ls ~/.m2/repository/dev/steeringmesh/sae-service/0.1.0-SNAPSHOT/*.jar > /dev/null 2>&1; then
  mvn -B -q install -DskipTests -pl proto,common,model-service,sae-service
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/vector-protocol.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mvn -B -q test-compile dependency:build-classpath -pl vector-service -Dmdep.includeScope=test -Dmdep.outputFile="$work/cp.txt"
mkdir -p "$work/jars"
cp -r vector-service/target/classes "$work/classes"
cp -r vector-service/target/test-classes "$work/test-classes"
cp_copy="$work/classes:$work/test-classes"
IFS=: read -r -a entries < "$work/cp.txt" || true  # the file has no final newline
for e in "${entries[@]}"; do
  cp "$e" "$work/jars/"
  cp_copy="$cp_copy:$work/jars/$(basename "$e")"
done
OMP_WAIT_POLICY=PASSIVE java -Xmx6g -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 \
  -Dsteering.shared.dir="$repo/../shared" "$@" -cp "$cp_copy" steering.vector.grpc.SmolLM2ProtocolTest
