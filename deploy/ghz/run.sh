#!/usr/bin/env bash
# Load-tests the running mesh with ghz: every config deploy/ghz/*.json (or the ones named) for a bounded time,
# skipping services that are not up (grpc.health.v1 Check != SERVING) or do not serve the method yet. Writes each
# ghz report and a summary (p50, p95, p99, requests/s, errors) as summary.md and summary.json to the results dir.
# Exit status 1 when ghz could not run a config or every call of a config failed; skipped services do not count.
#
#   deploy/ghz/run.sh [-d DURATION] [-c CONCURRENCY] [-o RESULTS_DIR] [CONFIG...]
#
#   -d  measured time per config (default 30s); a short warm-up (WARMUP calls, default 4) runs first
#   -c  override every config's concurrency
#   -o  results dir (default deploy/ghz/results/<UTC timestamp>)
#   CONFIG  config names or files, e.g. model-generate (default: all)
#
# Addresses (default 127.0.0.1 and the fixed ports): GATEWAY_ADDRESS, MODEL_SERVICE_ADDRESS, SAE_SERVICE_ADDRESS,
# VECTOR_SERVICE_ADDRESS. sae-encode needs an SAE: SAE_ID, else the first one sae-service lists. gateway-generate-steered
# needs a vector: VECTOR_ID, else the first registry vector applied at every position.
# Message types come from server reflection; GHZ_USE_PROTO=1 reads proto/src/main/proto instead.
# Tools: ghz $GHZ_VERSION and grpcurl from $(go env GOPATH)/bin, installed from the Go module proxy when missing;
# GHZ=/path/to/ghz and GRPCURL=... use others.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
duration="30s"
concurrency=""
results=""
configs=()
while [ $# -gt 0 ]; do
  case "$1" in
    -d) duration="$2"; shift 2 ;;
    -c) concurrency="$2"; shift 2 ;;
    -o) results="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) configs+=("$1"); shift ;;
  esac
done
[ -n "$results" ] || results="$here/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$results"
results="$(cd "$results" && pwd)"
if [ ${#configs[@]} -eq 0 ]; then
  for f in "$here"/*.json; do configs+=("$f"); done
fi

log() { printf '%s\n' "$*" >&2; }

GHZ_VERSION="${GHZ_VERSION:-v0.120.0}"  # v0.93.0, what `go install ...@latest` resolves to, cannot parse proto3 `optional`
# tool NAME MODULE VERSION: the binary from $(go env GOPATH)/bin (or GOBIN), installed from the Go module proxy when
# missing or, if VERSION is given, built from another module version
tool() {
  local name="$1" module="$2" version="$3" bindir have=""
  bindir="$(go env GOBIN)"; [ -n "$bindir" ] || bindir="$(go env GOPATH)/bin"
  if [ -x "$bindir/$name" ]; then
    have="$(go version -m "$bindir/$name" 2>/dev/null | awk '$1 == "mod" { print $3 }')"
    if [ -z "$version" ] || [ "$have" = "$version" ]; then echo "$bindir/$name"; return; fi
  fi
  log "installing $name ${version:-latest} from the Go module proxy ($module) ..."
  GOBIN="$bindir" go install "$module@${version:-latest}" >&2
  echo "$bindir/$name"
}
command -v python3 >/dev/null || { log "python3 is needed for the configs and the summary"; exit 1; }
command -v go >/dev/null || [ -n "${GHZ:-}" ] || { log "go is needed to install ghz and grpcurl (or set GHZ and GRPCURL)"; exit 1; }
ghz="${GHZ:-$(tool ghz github.com/bojand/ghz/cmd/ghz "$GHZ_VERSION")}"
grpcurl="${GRPCURL:-$(tool grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl "")}"

address_for() {
  case "$1" in
    gateway) echo "${GATEWAY_ADDRESS:-127.0.0.1:50050}" ;;
    model-service) echo "${MODEL_SERVICE_ADDRESS:-127.0.0.1:50051}" ;;
    sae-service) echo "${SAE_SERVICE_ADDRESS:-127.0.0.1:50052}" ;;
    vector-service) echo "${VECTOR_SERVICE_ADDRESS:-127.0.0.1:50053}" ;;
    *) echo "" ;;
  esac
}

# field FILE EXPR: a value from a JSON file (python expression over `c`)
field() { python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

status_file="$results/runs.tsv"
: > "$status_file"
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >> "$status_file"; }  # name config host status report

failed=0
# The id of the first item a List RPC returns ("" when none or unreachable):
#   first_listed HOST RPC FIELD [KEY=VALUE]   (KEY=VALUE keeps items whose KEY is VALUE; proto3 JSON leaves out the
#   default, so a missing KEY counts as VALUE)
first_listed() {
  "$grpcurl" -plaintext -max-time 10 -d '{}' "$1" "$2" 2>/dev/null | python3 -c '
import json, sys
key, _, value = sys.argv[2].partition("=")
items = [x for x in json.load(sys.stdin).get(sys.argv[1], []) if not key or x.get(key, value) == value]
print(items[0]["id"] if items else "")' "$3" "${4:-}" 2>/dev/null || true
}

for cfg in "${configs[@]}"; do
  [ -f "$cfg" ] || cfg="$here/${cfg%.json}.json"
  [ -f "$cfg" ] || { log "no such config: $cfg"; exit 2; }
  name="$(basename "$cfg" .json)"
  call="$(field "$cfg" 'c["call"]')"
  service="$(field "$cfg" 'c.get("tags",{}).get("service","")')"
  host="$(address_for "$service")"
  [ -n "$host" ] || host="$(field "$cfg" 'c["host"]')"
  log "== $name: $call on $host"

  health="$("$grpcurl" -plaintext -connect-timeout 3 -max-time 5 "$host" grpc.health.v1.Health/Check 2>&1 || true)"
  if ! grep -q '"SERVING"' <<<"$health"; then
    reason="not up ($(tr '\n' ' ' <<<"$health" | sed -e 's/  */ /g' -e 's/ *$//' | cut -c1-100))"
    log "   skipped: $reason"
    record "$name" "$call" "$host" "skipped: $reason" ""
    continue
  fi

  svc="${call%/*}"; method="${call#*/}"
  proto_args=()
  if [ "${GHZ_USE_PROTO:-0}" = 1 ]; then
    proto_file="$(grep -l "^service ${svc##*.} " "$repo"/proto/src/main/proto/steering/v1/*.proto 2>/dev/null | head -n 1 || true)"
    [ -n "$proto_file" ] && proto_args=("$proto_file" "$repo/proto/src/main/proto")
  fi
  if [ ${#proto_args[@]} -eq 0 ] && ! "$grpcurl" -plaintext -max-time 5 "$host" describe "$svc.$method" >/dev/null 2>&1; then
    log "   skipped: $call is not served (server reflection does not list it)"
    record "$name" "$call" "$host" "skipped: method not served" ""
    continue
  fi

  sae_id="${SAE_ID:-}"
  if grep -q '\${SAE_ID}' "$cfg" && [ -z "$sae_id" ]; then
    sae_id="$(first_listed "$host" steering.v1.SaeService/ListSaes saes)"
    if [ -z "$sae_id" ]; then
      log "   skipped: sae-service lists no SAE (train or import one, or set SAE_ID)"
      record "$name" "$call" "$host" "skipped: no SAE loaded" ""
      continue
    fi
  fi

  vector_id="${VECTOR_ID:-}"
  if grep -q '\${VECTOR_ID}' "$cfg" && [ -z "$vector_id" ]; then
    vector_id="$(first_listed "$host" steering.v1.Steering/ListVectors vectors positions=ALL)"
    if [ -z "$vector_id" ]; then
      log "   skipped: the registry has no vector applied at every position (build one, or set VECTOR_ID)"
      record "$name" "$call" "$host" "skipped: no vector" ""
      continue
    fi
  fi

  # the run's configs: the file's settings plus host, duration, output, placeholders and proto source
  VECTOR_ID_RESOLVED="$vector_id" python3 - "$cfg" "$results" "$host" "$duration" "$concurrency" "$sae_id" "${proto_args[@]}" <<'EOF'
import json, sys, os
cfg, results, host, duration, concurrency, sae_id = sys.argv[1:7]
proto = sys.argv[7:]
text = open(cfg).read().replace("${SAE_ID}", sae_id).replace("${VECTOR_ID}", os.environ.get("VECTOR_ID_RESOLVED", ""))
c = json.loads(text)
name = os.path.splitext(os.path.basename(cfg))[0]
c["host"] = host
c["format"] = "json"
if concurrency:
    c["concurrency"] = int(concurrency)
if proto:
    c["proto"], c["import-paths"] = proto[0], [proto[1]]
warm = dict(c)
warm.pop("duration", None)
warm.pop("duration-stop", None)
warm["total"] = int(os.environ.get("WARMUP", "4"))
warm["concurrency"] = min(c.get("concurrency", 1), warm["total"])
warm["output"] = os.path.join(results, name + ".warmup.json")
run = dict(c)
run["duration"] = duration
run["output"] = os.path.join(results, name + ".json")
for suffix, conf in (("warmup", warm), ("run", run)):
    with open(os.path.join(results, f"{name}.{suffix}.config.json"), "w") as f:
        json.dump(conf, f, indent=2)
EOF
  log "   warm-up (${WARMUP:-4} calls) ..."
  if ! "$ghz" --config "$results/$name.warmup.config.json" >/dev/null 2>"$results/$name.log"; then
    log "   ghz failed in the warm-up: $(tail -n 3 "$results/$name.log")"
    record "$name" "$call" "$host" "failed: $(tail -n 1 "$results/$name.log" | cut -c1-120)" ""
    failed=1
    continue
  fi
  log "   measuring for $duration ..."
  if ! "$ghz" --config "$results/$name.run.config.json" >/dev/null 2>>"$results/$name.log"; then
    log "   ghz failed: $(tail -n 3 "$results/$name.log")"
    record "$name" "$call" "$host" "failed: $(tail -n 1 "$results/$name.log" | cut -c1-120)" ""
    failed=1
    continue
  fi
  record "$name" "$call" "$host" "ok" "$results/$name.json"
done

python3 - "$status_file" "$results" "$duration" <<'EOF' || failed=1
import json, sys, os
status_file, results, duration = sys.argv[1:4]
rows = []
failed = False
for line in open(status_file):
    name, call, host, status, report = line.rstrip("\n").split("\t")
    row = {"config": name, "call": call, "host": host, "status": status}
    if report:
        r = json.load(open(report))
        ms = lambda ns: round(ns / 1e6, 2)
        lat = {int(d["percentage"]): d["latency"] for d in (r.get("latencyDistribution") or [])}
        errors = sum((r.get("errorDistribution") or {}).values())
        codes = r.get("statusCodeDistribution") or {}
        conf = json.load(open(os.path.join(results, name + ".run.config.json")))
        row.update({
            "duration": duration,
            "concurrency": conf.get("concurrency"),
            "calls": r.get("count", 0),
            "ok": codes.get("OK", 0),
            "errors": errors,
            "error_distribution": r.get("errorDistribution") or {},
            "rps": round(r.get("rps", 0.0), 2),
            "avg_ms": ms(r.get("average", 0)),
            "fastest_ms": ms(r.get("fastest", 0)),
            "slowest_ms": ms(r.get("slowest", 0)),
            "p50_ms": ms(lat[50]) if 50 in lat else None,
            "p95_ms": ms(lat[95]) if 95 in lat else None,
            "p99_ms": ms(lat[99]) if 99 in lat else None,
        })
        if row["ok"] == 0:
            row["status"] = "failed: every call failed"
            failed = True
        elif errors:
            row["status"] = "ok, with errors"
        tokens = (conf.get("tags") or {}).get("tokens_per_call")
        if tokens:
            # ok calls per second times the tokens each generates (the configs set ignore_eos, so all of them)
            row["tokens_per_s"] = round(row["ok"] / r["total"] * 1e9 * int(tokens), 1) if r.get("total") else None
    rows.append(row)
with open(os.path.join(results, "summary.json"), "w") as f:
    json.dump(rows, f, indent=2)
cols = [("config", "config"), ("status", "status"), ("concurrency", "c"), ("calls", "calls"), ("errors", "errors"),
        ("rps", "req/s"), ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"), ("p99_ms", "p99 ms"), ("avg_ms", "avg ms"),
        ("tokens_per_s", "tokens/s")]
lines = [f"# ghz results ({duration} per config)", "",
         "| " + " | ".join(h for _, h in cols) + " |", "|" + "---|" * len(cols)]
for row in rows:
    lines.append("| " + " | ".join("" if row.get(k) is None else str(row.get(k)) for k, _ in cols) + " |")
errs = [(row["config"], e, n) for row in rows for e, n in row.get("error_distribution", {}).items()]
if errs:
    lines += ["", "Errors:", ""] + [f"- {c}: {n} x `{e}`" for c, e, n in errs]
with open(os.path.join(results, "summary.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
sys.exit(1 if failed else 0)
EOF
log "results: $results (summary.md, summary.json, one ghz report per config)"
exit "$failed"
