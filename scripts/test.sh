#!/usr/bin/env bash
# The project's test command (the README's and CI's): fetches the default model into the cache (tests on
# SmolLM2 need it), runs every module's tests and builds the jars (mvn install), runs the polyglot clients end to end
# against a live mesh (scripts/e2e.sh), then renders and validates the Kubernetes manifests offline.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d ../shared/models/stories260K-hf ]; then
  echo "../shared (models and data) must sit beside the repository" >&2
  exit 1
fi
echo "==> fetching the default model (cached after the first run)"
scripts/fetch-model.sh smollm2-135m-instruct > /dev/null
scripts/fetch-model.sh gemma3-270m > /dev/null
echo "==> mvn install (unit and integration tests, then the service jars)"
mvn -B -ntp install
echo "==> end-to-end: Python and Node.js clients against the gateway"
scripts/e2e.sh
if [ -x deploy/validate/run.sh ]; then
  echo "==> rendering and validating the Kubernetes manifests"
  deploy/validate/run.sh
fi
