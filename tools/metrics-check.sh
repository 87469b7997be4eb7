#!/usr/bin/env bash
# Scrapes /metrics of the debug binary after a few requests and parses it with the Python
# `prometheus-client` parsers (the Prometheus text parser, and the strict OpenMetrics one, since
# that is the media type served); also checks /readyz and that each answer echoes X-Request-Id.
# The parser lives in a venv under target/ (pinned, made only when missing).
#
# usage: tools/metrics-check.sh            (SIDIAN_BIN: default target/debug/sidian)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SIDIAN_BIN:-target/debug/sidian}
[ -x "$BIN" ] || cargo build --quiet
VENV=target/metrics-check/venv
# shellcheck source=tools/venv.sh
. tools/venv.sh
python_venv metrics-check "$VENV" tools/metrics-check/requirements.txt prometheus_client

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SERVER=
# The server writes its last checkpoint into the data directory as it stops: wait for it before
# removing the directory.
cleanup() { if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi; rm -rf "$WORK"; }
trap cleanup EXIT
"$BIN" serve --data "$WORK/data" --listen "127.0.0.1:$PORT" --log-format json >"$WORK/serve.log" 2>&1 &
SERVER=$!
URL=http://127.0.0.1:$PORT
for _ in $(seq 100); do curl -fs "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ] || { echo "FAIL /readyz is not 200" >&2; exit 1; }
KEY=$("$BIN" client add metrics-check --data "$WORK/data" | tail -n 1)
api() { curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$URL$1" "${@:2}"; }
ID=$(api /v1/keys -d '{"alg":"sm2"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
api "/v1/keys/$ID/sign" -d "{\"data\":\"$(printf hi | base64)\"}" >/dev/null
api /v1/keys/no-such-key >/dev/null
ECHO=$(curl -s -D - -o /dev/null -H 'X-Request-Id: check-42' "$URL/v1/nothing" | tr -d '\r' | sed -n 's/^x-request-id: //Ip')
[ "$ECHO" = check-42 ] || { echo "FAIL X-Request-Id not echoed (got '$ECHO')" >&2; exit 1; }
curl -fs "$URL/metrics" > "$WORK/metrics.txt"

"$VENV/bin/python" - "$WORK/metrics.txt" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
text = open(sys.argv[1]).read()
# The Prometheus text parser must read it without error (it files an OpenMetrics counter's
# `_total` samples under a family of their own, so compare sample names); the OpenMetrics
# parser, which is strict, gives the typed families the checks below use.
classic = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
families = {f.name: f for f in openmetrics(text)}
need = {"sidian_http_requests": "counter", "sidian_http_request_duration_seconds": "histogram",
        "sidian_signatures": "counter", "sidian_ledger_batch_size": "histogram",
        "sidian_ledger_commit_duration_seconds": "histogram",
        "sidian_verification_waiting": "gauge", "sidian_verification_running": "gauge"}
wrong = {n: families[n].type if n in families else None for n, t in need.items()
         if n not in families or families[n].type != t}
assert not wrong, f"missing or mistyped families: {wrong}"
strict = {s.name for f in families.values() for s in f.samples}
assert classic == strict, f"the two parsers disagree: {classic ^ strict}"
routes = {s.labels["route"] for s in families["sidian_http_requests"].samples}
assert "/v1/keys/{id}/sign" in routes, routes
assert not any("no-such-key" in r for r in routes), routes
algs = {s.labels["algorithm"] for s in families["sidian_signatures"].samples}
assert "sm2" in algs, algs
print(f"metrics-check: {len(families)} families, {len(strict)} series names parsed by both parsers")
PY
grep -q '"target":"sidian::access"' "$WORK/serve.log" || { echo "FAIL no JSON access log line" >&2; exit 1; }
if grep -q $'\x1b\[' "$WORK/serve.log"; then echo "FAIL ANSI colours in a non-terminal log" >&2; exit 1; fi
echo "metrics-check: ok"
