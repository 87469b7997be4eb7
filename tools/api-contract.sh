#!/usr/bin/env bash
# api-contract.sh — the API contract against the running server:
#   1. openapi-spec-validator: schemas/openapi.json is a valid OpenAPI 3.1 document;
#   2. Schemathesis (`--checks all`, every operation, a bounded number of examples each) against
#      the debug binary on a loopback port with a fresh data dir and an admin client: no status
#      the spec does not list, no response that breaks its schema, content type or headers, no 500.
# The tools are pinned in tools/api-contract/requirements.txt and installed into a venv in
# <repo>/target/api-tools/venv (made again when the pins change); nothing outside the clone.
#
# usage: tools/api-contract.sh            (SIDIAN_BIN, default target/debug/sidian;
#                                          API_CONTRACT_EXAMPLES, default 100 per operation; about a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${SIDIAN_BIN:-target/debug/sidian}
[ -x "$BIN" ] || cargo build --quiet --bin sidian
HERE=$ROOT/tools/api-contract
VENV=$ROOT/target/api-tools/venv
REQ=$HERE/requirements.txt
EXAMPLES=${API_CONTRACT_EXAMPLES:-100}

# shellcheck source=tools/venv.sh
. "$ROOT/tools/venv.sh"
python_venv api-contract.sh "$VENV" "$REQ" schemathesis openapi_spec_validator

echo "== openapi-spec-validator"
"$VENV/bin/openapi-spec-validator" schemas/openapi.json

WORK=$(mktemp -d)
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
DATA=$WORK/data
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
# The per-peer rate limit of the anonymous routes would answer most of Schemathesis's requests
# with 429 (declared in the spec all the same): it is raised so that the handlers are exercised.
"$BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT" --anon-rate 100000 --anon-burst 100000 \
  >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -fs "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$BASE/healthz" >/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
KEY=$("$BIN" client add contract --data "$DATA" --scope admin --scope keys --scope sign \
  --scope verify --scope seals --scope audit | tail -n 1)

api() { curl -fsS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$BASE$1" -d "$2"; }
id_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
SEAL_JSON='{"name":"某某有限公司合同专用章","type":"contract","holder":{"name":"某某有限公司","uscc":"11100000000013338W"}}'
export CONTRACT_KEY CONTRACT_SPARE_KEY CONTRACT_SEAL CONTRACT_SPARE_SEAL
CONTRACT_KEY=$(api /v1/keys '{}' | id_of)
CONTRACT_SPARE_KEY=$(api /v1/keys '{"alg":"p256"}' | id_of)
CONTRACT_SEAL=$(api /v1/seals "$SEAL_JSON" | id_of)
CONTRACT_SPARE_SEAL=$(api /v1/seals "$SEAL_JSON" | id_of)

echo "== schemathesis ($EXAMPLES examples per operation)"
cd "$WORK"
status=0
SCHEMATHESIS_HOOKS=hooks PYTHONPATH=$HERE \
  "$VENV/bin/schemathesis" --config-file "$HERE/schemathesis.toml" run "$ROOT/schemas/openapi.json" \
  --url "$BASE" -H "Authorization: Bearer $KEY" --checks all \
  --max-examples "$EXAMPLES" --seed "${API_CONTRACT_SEED:-1}" --workers 2 \
  --no-color --output-truncate false || status=$?
if grep -q "panicked" "$WORK/serve.log"; then
  echo "api-contract.sh: the server panicked:" >&2
  grep -A5 "panicked" "$WORK/serve.log" >&2
  status=1
fi
exit $status
