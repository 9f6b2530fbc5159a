#!/usr/bin/env bash
# The fuzz suite at nightly size: MeshFuzzTest (gateway module) with a generated corpus of CASES requests (default
# 10000, fixed seed) over every RPC of model-service, sae-service, vector-service and the gateway on stories260K.
# The default test command runs 300. Counts (cases, status codes, modes, violations) go to gateway/target/fuzz-report.txt.
#
#   scripts/fuzz.sh [CASES]
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-10000}"
mvn -q -B -ntp -pl gateway -am test -Dtest=MeshFuzzTest -Dsurefire.failIfNoSpecifiedTests=false -Dsteering.fuzz.cases="$cases"
cat gateway/target/fuzz-report.txt
