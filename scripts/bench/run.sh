#!/usr/bin/env bash
# Benchmark, side by side on this machine and in one invocation: model-service's engine (Java, DJL/PyTorch) in each
# compute dtype, Hugging Face transformers (PyTorch eager) in float32 and bfloat16, and llama.cpp (llama-cpp-python,
# built from source) at the GGUF's own quantization, all on SmolLM2-135M-Instruct (Q4_1 GGUF). Each engine/dtype runs
# in its own process, one after the other; scripts/bench/report.py prints one table with the ratios.
#
#   scripts/bench/run.sh [--engines model-service,transformers,llama.cpp] [--batches 1,8,16] [--tokens 64]
#                        [--repeats 3] [--prefill 256] [--json FILE] [--no-interference]
#
# Greedy decode of --tokens new tokens after "I think" for each batch size, unsteered and steered (the same norm-4
# vector at the middle block's output, all positions), best of --repeats; prefill of a --prefill-token prompt; peak
# RSS of each process; and (model-service, its default dtype) the TTFT of a 1000-token prompt arriving while 8
# streams decode, with those streams' inter-token gaps (DecodeBenchmark --interference). --json writes every figure.
# The Python venvs are made on first use (scripts/reference/setup-venv.sh, scripts/bench/setup-llama-venv.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
engines="model-service,transformers,llama.cpp"
batches="1,8,16"
tokens=64
repeats=3
prefill=256
json=""
interference=1
while [ $# -gt 0 ]; do
  case "$1" in
    --engines) engines="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --tokens) tokens="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --prefill) prefill="$2"; shift 2 ;;
    --json) json="$2"; shift 2 ;;
    --no-interference) interference=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
# OMP_WAIT_POLICY per peer, each decided by a measurement on this machine (docs/benchmarks.md). PASSIVE (libgomp's
# idle threads sleep instead of spinning) helps the Java engine. It slows llama.cpp (batch-1 decode 3.5x): unset.
# transformers is faster without it while it has both cores, but then collapses to 0.4-3 tokens/s whenever another
# job runs (this machine's usual state): PASSIVE; TRANSFORMERS_OMP_WAIT_POLICY= (set and empty) leaves it unset.
omp_model_service=PASSIVE
omp_transformers="${TRANSFORMERS_OMP_WAIT_POLICY-PASSIVE}"
unset OMP_WAIT_POLICY

model="$(scripts/fetch-model.sh smollm2-135m-instruct)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
common=(--tokens "$tokens" --repeats "$repeats" --batches "$batches")
failed=()
has() { [[ ",$engines," == *",$1,"* ]]; }
run() {  # run NAME COMMAND...: one engine/dtype; a failure is reported and the others go on
  local name="$1"; shift
  echo "=== $name ===" >&2
  if ! "$@"; then failed+=("$name"); echo "=== $name FAILED ===" >&2; fi
}

echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load $(cut -d' ' -f1-3 /proc/loadavg)"
if has model-service; then
  if [ ! -f benchmarks/target/benchmarks.jar ]; then
    mvn -B -ntp -q install -DskipTests -pl benchmarks -am >&2
  fi
  java_bench() {  # java_bench DTYPE ARGS...: DecodeBenchmark with STEERING_MODEL_DTYPE=DTYPE ("" = unset, auto)
    local dtype="$1"; shift
    env ${dtype:+STEERING_MODEL_DTYPE="$dtype"} OMP_WAIT_POLICY="$omp_model_service" java -Xmx2g -Dai.djl.offline=true --add-modules jdk.incubator.vector \
      -cp 'benchmarks/target/benchmarks.jar:benchmarks/target/lib/*' steering.bench.DecodeBenchmark "$model" "$@" \
      2> >(grep -vE ' (INFO|WARN) ' >&2)
  }
  for dtype in float32 float16 bfloat16; do
    run "model-service $dtype" java_bench "$dtype" "${common[@]}" --prefill "$prefill" --json "$out/model-service-$dtype.json"
  done
  if [ "$interference" = 1 ]; then
    run "model-service interference" java_bench "" --interference --repeats "$repeats" --json "$out/model-service-interference.json"
  fi
fi
if has transformers; then
  venv="$(scripts/reference/setup-venv.sh)"
  for dtype in float32 bfloat16; do
    run "transformers $dtype" env ${omp_transformers:+OMP_WAIT_POLICY="$omp_transformers"} "$venv/bin/python" scripts/bench/transformers_bench.py \
      --gguf "$model" --dtype "$dtype" "${common[@]}" --prefill-tokens "$prefill" --json "$out/transformers-$dtype.json"
  done
fi
if has llama.cpp; then
  venv="$(scripts/bench/setup-llama-venv.sh)"
  run "llama.cpp" "$venv/bin/python" scripts/bench/llama_bench.py --gguf "$model" "${common[@]}" \
    --prefill-tokens "$prefill" --json "$out/llama.cpp.json"
fi

echo
echo "SmolLM2-135M-Instruct, greedy decode of $tokens new tokens after \"I think\", best of $repeats; prefill $prefill tokens; load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
python3 scripts/bench/report.py ${json:+--json "$json"} "$out"/*.json
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
