#!/usr/bin/env bash
# Three `sidian serve` nodes on ONE PostgreSQL database are one vault, also when one of them is
# killed: node 0 makes the vault, nodes 1 and 2 join it with only master.key and audit-key.pem
# copied into empty data dirs; load (key signing SM2 and P-256, seal signing, PDF stamping,
# time-stamps) is spread round-robin over the three while seals are revoked and keys disabled on
# one node as the others sign with them, and victim clients are revoked by the CLI (one more
# writer on the log) while they sign; one node is SIGKILLed mid-run and restarted 2 s later.
# Then every node is stopped with SIGTERM and the run is proved from the database, the nodes'
# checkpoint files and the answers the clients received. See tools/cluster/README.md.
#
# usage: tools/cluster.sh                  (≈ 40 s; DURATION=120 tools/cluster.sh for a long run)
# env:   SIDIAN_BIN (default target/release/sidian), SIDIAN_TEST_POSTGRES (admin URL, default
#        postgres://postgres@127.0.0.1:5432/postgres), DURATION (s of load, default 30),
#        THREADS (12), KILL_NODE (0-2, default random), KILL_AT, RESTART_AFTER (2), REVOKE_EVERY
#        (2.5), SEED, SHUTDOWN_TIMEOUT (30), KEEP=1 (keep the temp dir and database)
# Exits 1 on any violated property, 2 when a tool is missing. Never builds anything.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib.sh
STARTED=$(date +%s.%N)
export SIDIAN_BIN=${SIDIAN_BIN:-target/release/sidian}
ADMIN_URL=${SIDIAN_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
export DURATION=${DURATION:-30}

for tool in python3 psql; do
  command -v "$tool" >/dev/null || { echo "cluster: $tool is required" >&2; exit 2; }
done
[ -x "$SIDIAN_BIN" ] || { echo "cluster: no binary at $SIDIAN_BIN (build it, or set SIDIAN_BIN)" >&2; exit 2; }

WORK=$(mktemp -d)
export WORK
DB_NAME=sidian_cluster_$$
DB_CREATED=
cleanup() {
  local f pid
  for f in "$WORK"/node-*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "${KEEP:-}" = 1 ]; then
    echo "cluster: kept $WORK and database $DB_NAME"
    return
  fi
  if [ -n "$DB_CREATED" ]; then
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DB_CREATED=1
DB_URL=$(fresh_database "$ADMIN_URL" "$DB_NAME")
export DB_URL
echo "== cluster: $SIDIAN_BIN, database $DB_URL, $(nproc) cores"

LOAD_RC=0
python3 tools/cluster/load.py || LOAD_RC=$?
if [ ! -s "$WORK/events.json" ] || ! python3 -c 'import json, sys; sys.exit(0 if "t_end" in json.load(open(sys.argv[1])) else 1)' "$WORK/events.json"; then
  echo "cluster: FAILED: the run did not complete (see above)"
  for f in "$WORK"/node-*.log; do echo "-- $f"; tail -n 5 "$f"; done
  exit 1
fi

# a. `audit verify` from every node's data dir: the whole log replayed against the database's
# checkpoints and that node's own audit-checkpoints.jsonl, and --against the last checkpoint
# that node signed (one checkpoint: the JSON line is what `--against` reads).
AUDIT_OK=1
AUDIT_TXT=
for i in 0 1 2; do
  D=$WORK/D$i
  tail -n 1 "$D/audit-checkpoints.jsonl" >"$WORK/last-$i.json"
  last=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["size"])' "$WORK/last-$i.json" 2>/dev/null || echo "?")
  if out=$("$SIDIAN_BIN" audit verify --data "$D" --database "$DB_URL" --against "$WORK/last-$i.json" 2>&1); then
    AUDIT_TXT+="D$i: $(wc -l <"$D/audit-checkpoints.jsonl") own checkpoints, last size $last; "
    SUMMARY=$out
  else
    AUDIT_OK=0
    AUDIT_TXT+="D$i: $out; "
  fi
done
if [ "$AUDIT_OK" = 1 ]; then
  printf '%-34s ok  %s; %s\n' "a. audit verify from D0, D1, D2" "${AUDIT_TXT%; }" "$(echo "$SUMMARY" | tail -n 1)"
else
  printf '%-34s FAILED  %s\n' "a. audit verify from D0, D1, D2" "${AUDIT_TXT%; }"
fi

# f. The role the nodes' connections work as cannot rewrite the log (the owner, here, can).
ROLE_OK=1
for sql in "UPDATE audit_entries SET actor = 'client:mallory'" "DELETE FROM audit_nodes" "DELETE FROM audit_signatures"; do
  if out=$(psql -Atq "$DB_URL" -c "SET ROLE sidian_service" -c "$sql" 2>&1) || [[ "$out" != *"permission denied"* ]]; then
    ROLE_OK=0
    printf '%-34s FAILED  %s: %s\n' "f. sidian_service cannot rewrite" "$sql" "$out"
  fi
done
[ "$ROLE_OK" = 1 ] && printf '%-34s ok  UPDATE audit_entries, DELETE audit_nodes, DELETE audit_signatures: permission denied\n' "f. sidian_service cannot rewrite"

CHECK_RC=0
python3 tools/cluster/check.py || CHECK_RC=$?

ELAPSED=$(python3 -c "import time; print(round(time.time() - $STARTED, 1))")
if [ "$AUDIT_OK" = 1 ] && [ "$ROLE_OK" = 1 ] && [ "$CHECK_RC" = 0 ] && [ "$LOAD_RC" = 0 ]; then
  echo "== cluster: all properties hold (${ELAPSED}s)"
else
  echo "== cluster: FAILED (${ELAPSED}s); node logs:"
  for f in "$WORK"/node-*.log; do echo "-- $f"; grep -iE 'error|warn|panic' "$f" | tail -n 5 || true; done
  exit 1
fi
