#!/usr/bin/env bash
# Throughput of one `sidian serve` node against three nodes on ONE PostgreSQL database, for
# `POST /v1/keys/{id}/sign` with an SM2 and a P-256 key, every signature recorded in the one
# audit log (serialised by the audit head row lock whichever node commits). Release binary,
# wrk on the same machine, no pipelining:
#   1 node:  wrk -t2 -c32 against node 0
#   3 nodes: three wrk at once, -t1 -c11 each, one per node (33 connections in all)
# Each measured run follows a warm-up. For each run it reports req/s (summed over the nodes),
# the worst node's p99, the transactions PostgreSQL committed per second in the database
# (pg_stat_database.xact_commit, read during the run) and where the CPU went (sidian nodes,
# PostgreSQL, wrk, the rest). See tools/cluster/README.md.
#
# usage: tools/bench-cluster.sh [POSTGRES_ADMIN_URL]
#   default: $SIDIAN_TEST_POSTGRES or postgres://postgres@127.0.0.1:5432/postgres; a fresh
#   database sidian_benchcluster_$$ is created there and dropped at the end
# env: SIDIAN_BIN (default target/release/sidian), DURATION (wrk duration per run, default 15s),
#      WARMUP (default 3s), SHUTDOWN_TIMEOUT (default 30)
#
# Exits 1 (after printing everything) if any request failed (non-2xx, socket error or timeout,
# warm-ups included), if a node does not exit 0 within SHUTDOWN_TIMEOUT of SIGTERM, if the audit
# log does not verify, or if the signature.created entries do not match the 200s received.
# Never builds anything.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib.sh

DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
SHUTDOWN_TIMEOUT=${SHUTDOWN_TIMEOUT:-30}
BIN=${SIDIAN_BIN:-target/release/sidian}
ADMIN_URL=${1:-${SIDIAN_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}}

for tool in wrk curl python3 psql; do
  command -v "$tool" >/dev/null || { echo "bench-cluster: $tool is required" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "bench-cluster: no binary at $BIN (cargo build --release, or set SIDIAN_BIN)" >&2; exit 2; }

WORK=$(mktemp -d)
DB_NAME=sidian_benchcluster_$$
DB_CREATED=
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [ -n "$DB_CREATED" ]; then
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DB_CREATED=1
DB_URL=$(fresh_database "$ADMIN_URL" "$DB_NAME")
export WORK DB_URL DB_NAME

wait_up() { # URL PID
  for _ in $(seq 600); do
    curl -fs -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { echo "bench-cluster: the server for $1 exited" >&2; return 1; }
    sleep 0.05
  done
  echo "bench-cluster: server did not come up at $1" >&2; return 1
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# start_node I: serve on data dir D<I> (node 0 makes the vault; the others must be joined first)
PORTS=()
start_node() {
  local i=$1
  PORTS[i]=$(free_port)
  "$BIN" serve --data "$WORK/D$i" --database "$DB_URL" --listen "127.0.0.1:${PORTS[i]}" \
    >"$WORK/node-$i.log" 2>&1 &
  PIDS[i]=$!
}
# join_node I: an empty 0700 data dir with only node 0's master.key and audit-key.pem (0600).
join_node() {
  local d=$WORK/D$1
  mkdir -m 700 "$d"
  install -m 600 "$WORK/D0/master.key" "$WORK/D0/audit-key.pem" "$d/"
}

warn_if_busy
echo "== PostgreSQL: $DB_URL ($(psql -Atq "$ADMIN_URL" -c 'SHOW server_version'), synchronous_commit $(psql -Atq "$ADMIN_URL" -c 'SHOW synchronous_commit'))"
echo "== $BIN; wrk: $DURATION per run after $WARMUP warm-up, no pipelining"

start_node 0
U0=http://127.0.0.1:${PORTS[0]}
wait_up "$U0/healthz" "${PIDS[0]}"
KEY=$("$BIN" client add bench --data "$WORK/D0" --database "$DB_URL" | tail -n 1)
api() { curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$U0$1" "${@:2}"; }
SM2_ID=$(api /v1/keys -d '{"alg":"sm2"}' | json "['id']")
P256_ID=$(api /v1/keys -d '{"alg":"p256"}' | json "['id']")
for path in "/v1/keys/$SM2_ID/sign" "/v1/keys/$P256_ID/sign"; do
  resp=$(api "$path" -w '\n%{http_code}' -d "{\"data\":\"$(head -c 32 /dev/urandom | base64 -w0)\"}")
  [ "${resp##*$'\n'}" = 200 ] || { echo "bench-cluster: $path answered: $resp" >&2; exit 1; }
done

bench() { # LABEL THREADS CONNECTIONS KEY_ID URL...
  local label=$1 threads=$2 conns=$3 id=$4
  shift 4
  export SIDIAN_PATH=/v1/keys/$id/sign SIDIAN_KEY=$KEY SIDIAN_PIDS="${PIDS[*]}"
  python3 tools/cluster/runwrk.py "$label" warmup "$WARMUP" "$threads" "$conns" tools/bench/sign.lua "$@"
  python3 tools/cluster/runwrk.py "$label" run "$DURATION" "$threads" "$conns" tools/bench/sign.lua "$@"
}

echo "== 1 node ($U0): wrk -t2 -c32"
bench 1-node-sm2 2 32 "$SM2_ID" "$U0"
bench 1-node-p256 2 32 "$P256_ID" "$U0"

join_node 1
join_node 2
start_node 1
start_node 2
U1=http://127.0.0.1:${PORTS[1]}
U2=http://127.0.0.1:${PORTS[2]}
wait_up "$U1/healthz" "${PIDS[1]}"
wait_up "$U2/healthz" "${PIDS[2]}"
echo "== 3 nodes ($U0 $U1 $U2; nodes 1, 2 joined with master.key + audit-key.pem): 3 × wrk -t1 -c11"
bench 3-node-sm2 1 11 "$SM2_ID" "$U0" "$U1" "$U2"
bench 3-node-p256 1 11 "$P256_ID" "$U0" "$U1" "$U2"

SHUTDOWN_OK=1
for i in 0 1 2; do
  stop_server "${PIDS[i]}" "node $i" || { SHUTDOWN_OK=0; tail -n 5 "$WORK/node-$i.log" | sed 's/^/     node-'"$i"'.log: /'; }
done
PIDS=()

echo "== audit log"
AUDIT_OK=1
"$BIN" audit verify --data "$WORK/D0" --database "$DB_URL" || AUDIT_OK=0
psql -Atq "$DB_URL" -F ' ' -c "SELECT subject, count(*) FROM audit_entries WHERE action = 'signature.created' GROUP BY subject" >"$WORK/signs.txt"

SM2_ID=$SM2_ID P256_ID=$P256_ID AUDIT_OK=$AUDIT_OK SHUTDOWN_OK=$SHUTDOWN_OK python3 - <<'PY'
import json, os, sys
work = os.environ["WORK"]
rows = [json.loads(l) for l in open(f"{work}/results.jsonl")]
run = {r["label"]: r for r in rows if r["phase"] == "run"}
print()
print(f"{'run':<12} {'req/s':>8} {'per node':>18} {'p50 ms':>7} {'p99 ms':>7} {'p99.9':>7} "
      f"{'PG commits/s':>12} {'sig/commit':>10} {'failed':>6}  cores: sidian/pg/wrk/other")
for label in ["1-node-sm2", "3-node-sm2", "1-node-p256", "3-node-p256"]:
    r = run[label]
    per = "/".join(str(x) for x in r["per_node_rps"])
    print(f"{label:<12} {r['rps']:>8.0f} {per:>18} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} "
          f"{r['p999_ms']:>7.2f} {r['commits_per_s']:>12.0f} "
          f"{r['rps'] / max(r['commits_per_s'], 1):>10.1f} {r['failed']:>6}  "
          f"{r['sidian_cores']}/{r['pg_cores']}/{r['wrk_cores']}/{r['other_cores']}")
print("(3 nodes: req/s summed, latencies of the worst node; PG commits/s: pg_stat_database."
      "xact_commit of the database during the run, every transaction, not only the ledger's; "
      "cores: of the machine's, \"other\" is everything else)")
print()
for alg in ["sm2", "p256"]:
    one, three = run[f"1-node-{alg}"], run[f"3-node-{alg}"]
    print(f"ratio 3-node/1-node {alg:<5}: {three['rps'] / one['rps']:.2f}  "
          f"({three['rps']:.0f} / {one['rps']:.0f} req/s; p99 {three['p99_ms']:.1f} / "
          f"{one['p99_ms']:.1f} ms)")
signed = {}
for line in open(f"{work}/signs.txt"):
    subject, n = line.split()
    signed[subject] = int(n)
ok = True
for alg, key in [("sm2", os.environ["SM2_ID"]), ("p256", os.environ["P256_ID"])]:
    runs = [r for r in rows if r["label"].endswith(f"-{alg}")]
    got = sum(r["ok200"] for r in runs) + 1
    audited = signed.get(f"key:{key}", 0)
    # wrk counts only the answers it read before its timer ran out; requests still in flight
    # then (at most one per connection per wrk process) are signed and audited too.
    slack = sum(32 if r["nodes"] == 1 else 33 for r in runs)
    good = got <= audited <= got + slack
    ok &= good
    print(f"audit {alg:<5}: {audited} signature.created entries for {got} signatures received"
          f" (+{audited - got} in flight when wrk stopped, at most {slack}) "
          f"{'ok' if good else 'MISMATCH'}")
failed = sum(r["failed"] for r in rows)
print(f"audit log verify {'passed' if os.environ['AUDIT_OK'] == '1' else 'FAILED'}; "
      f"SIGTERM: {'every node exited 0' if os.environ['SHUTDOWN_OK'] == '1' else 'FAILED'}")
if failed:
    print(f"FAILED: {failed} requests failed (non-2xx or socket errors, warm-ups included)")
if failed or not ok or os.environ["AUDIT_OK"] != "1" or os.environ["SHUTDOWN_OK"] != "1":
    sys.exit(1)
PY
