#!/usr/bin/env bash
# HTTP load benchmark of `POST /v1/keys/{id}/sign` (SM2 and P-256) and of
# `POST /v1/seals/{id}/sign` (an SM2 seal: a GB/T 38540 SES_Signature built per request), every
# signature recorded in the audit log, measured in the same run as a bare axum handler that only signs
# (examples/bare_sign.rs) and an empty handler, with wrk on the same machine:
# 2 threads, 32 connections, no pipelining. See tools/bench/README.md.
#
# usage: tools/bench-http.sh [POSTGRES_ADMIN_URL]
#   no argument: sidian on its embedded SQLite file (in a fresh temp data dir)
#   a URL, e.g. postgres://postgres@127.0.0.1:5432/postgres: create a fresh database
#   sidian_bench_$$ on that server, benchmark on it, drop it at the end
# env: DURATION (wrk duration per route, default 15s), WARMUP (default 3s per route),
#      ONLY (comma-separated labels to run, e.g. ONLY=sidian-present,bare-sm2; default all),
#      SHUTDOWN_TIMEOUT (seconds sidian may take to exit after SIGTERM, default 30)
#
# Exits 1 (after printing everything) if any request failed (non-2xx status, socket error or
# timeout, in the warm-up too), if the audit log does not verify, or if the number of audited
# signatures does not match the number of signatures the clients received, or if sidian does
# not exit cleanly on SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib.sh

DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
SHUTDOWN_TIMEOUT=${SHUTDOWN_TIMEOUT:-30}
THREADS=2
CONNECTIONS=32
ADMIN_URL=${1:-}
BIN=target/release/sidian
BARE=target/release/examples/bare_sign

for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "bench-http: $tool is required" >&2; exit 2; }
done
[ -z "$ADMIN_URL" ] || command -v psql >/dev/null || { echo "bench-http: psql is required for PostgreSQL" >&2; exit 2; }

echo "== build (release)"
cargo build --release --quiet
cargo build --release --quiet --example bare_sign

WORK=$(mktemp -d)
DATA=$WORK/data
SERVER=
DB_NAME=
DBARGS=()
cleanup() {
  local pid
  for pid in $SERVER; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [ -n "$DB_NAME" ]; then
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "$ADMIN_URL" ]; then
  DB_NAME=sidian_bench_$$
  psql -q "$ADMIN_URL" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB_NAME" \
    -c "CREATE DATABASE $DB_NAME" >/dev/null
  DB_URL="${ADMIN_URL%/*}/$DB_NAME"
  DBARGS=(--database "$DB_URL")
  BACKEND="PostgreSQL ($DB_URL)"
else
  BACKEND="SQLite ($DATA/sidian.db, WAL, synchronous=FULL)"
fi

wait_up() { # URL
  for _ in $(seq 200); do curl -fs -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "bench-http: server did not come up at $1" >&2; return 1
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# runwrk.py LABEL SCRIPT URL DURATION SERVER_PID [PHASE]: runs wrk, and around it samples the
# machine's CPU (/proc/stat), the server's CPU (/proc/PID/stat) and wrk's own CPU (rusage), so
# that every result says where the two cores went. Appends one JSON line to $WORK/results.jsonl.
cat >"$WORK/runwrk.py" <<'PY'
import json, os, re, subprocess, sys
label, script, url, duration, pid, phase = sys.argv[1:7]
threads, conns = os.environ["THREADS"], os.environ["CONNECTIONS"]
hz = os.sysconf("SC_CLK_TCK")
def machine():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(f), f[3] + f[4]                      # total, idle + iowait (jiffies, all CPUs)
def proc(p):
    f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])                  # utime + stime
t0, i0 = machine(); s0 = proc(pid)
child = subprocess.Popen(["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}", "--latency",
                          "-s", script, url], stdout=subprocess.PIPE, text=True)
out = child.stdout.read()
_, status, ru = os.wait4(child.pid, 0)
t1, i1 = machine(); s1 = proc(pid)
with open(os.environ["WORK"] + f"/wrk-{phase}-{label}.txt", "w") as f:
    f.write(out)
m = re.search(r"^BENCH (\{.*\})$", out, re.M)
if os.waitstatus_to_exitcode(status) != 0 or not m:
    sys.exit(f"bench-http: wrk failed for {label}:\n{out}")
r = json.loads(m.group(1))
ncpu = os.cpu_count()
wall = (t1 - t0) / ncpu                              # elapsed jiffies per CPU
r.update(label=label, phase=phase,
         busy_pct=round(100 * (1 - (i1 - i0) / (t1 - t0)), 1),
         server_cores=round((s1 - s0) / wall, 2),
         wrk_cores=round((ru.ru_utime + ru.ru_stime) * hz / wall, 2))
r["other_cores"] = round(ncpu * r["busy_pct"] / 100 - r["server_cores"] - r["wrk_cores"], 2)
r["failed"] = r["non2xx"] + sum(r["socket_errors"].values())
with open(os.environ["WORK"] + "/results.jsonl", "a") as f:
    f.write(json.dumps(r) + "\n")
if phase == "run":
    print(f"  {label:<14} {r['rps']:>9.0f} req/s  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms"
          f"  non-2xx {r['non2xx']}  socket errors {sum(r['socket_errors'].values())}"
          f"  | CPU cores: server {r['server_cores']} wrk {r['wrk_cores']} other {r['other_cores']}")
PY
export WORK THREADS CONNECTIONS

bench() { # LABEL SCRIPT BASE_URL PATH KEY PID
  local label=$1 script=$2 base=$3 path=$4 key=$5 pid=$6
  [ -z "${ONLY:-}" ] || [[ ",$ONLY," == *",$label,"* ]] || return 0
  SIDIAN_PATH=$path SIDIAN_KEY=$key python3 "$WORK/runwrk.py" "$label" "$script" "$base" "$WARMUP" "$pid" warmup
  SIDIAN_PATH=$path SIDIAN_KEY=$key python3 "$WORK/runwrk.py" "$label" "$script" "$base" "$DURATION" "$pid" run
}

# Is anything else using the CPU? (The benchmark shares 2 cores between wrk and the server.)
warn_if_busy
echo "== backend: $BACKEND"
echo "== wrk: $THREADS threads, $CONNECTIONS connections, $DURATION per route (after $WARMUP warm-up), no pipelining"

# ---- sidian ----
PORT=$(free_port)
U=http://127.0.0.1:$PORT
"$BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT" "${DBARGS[@]}" >"$WORK/serve.log" 2>&1 &
SIDIAN_PID=$!
SERVER=$SIDIAN_PID
wait_up "$U/healthz"
KEY=$("$BIN" client add bench --data "$DATA" "${DBARGS[@]}" | tail -n 1)
api() { curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$U$1" "${@:2}"; }
SM2_ID=$(api /v1/keys -d '{"alg":"sm2"}' | json "['id']")
P256_ID=$(api /v1/keys -d '{"alg":"p256"}' | json "['id']")
SEAL_ID=$(api /v1/seals -d '{"name":"某某市市场监督管理局","holder":{"name":"某某市市场监督管理局","uscc":"11100000000013338W"}}' | json "['id']")
# One request each by hand: the route answers 200 with a signature before we load it.
for path in "/v1/keys/$SM2_ID/sign" "/v1/keys/$P256_ID/sign" "/v1/seals/$SEAL_ID/sign"; do
  resp=$(api "$path" -w '\n%{http_code}' -d "{\"data\":\"$(head -c 32 /dev/urandom | base64 -w0)\"}")
  [ "${resp##*$'\n'}" = 200 ] || { echo "bench-http: $path answered: $resp" >&2; exit 1; }
done
MANUAL_SIGNS=1  # per key
# Licences: an issuer (its seal, keys and status list), a client bound to it, and the body of a
# 营业执照 from the test data; every request issues a new licence under a fresh Idempotency-Key.
ISSUER_ID=$("$BIN" issuer add 某某市行政审批服务局 --uscc 11370100004312345D --data "$DATA" "${DBARGS[@]}" | tail -n 1)
LKEY=$("$BIN" client add bench-licences --scope licence:issue --issuer "$ISSUER_ID" --data "$DATA" "${DBARGS[@]}" | tail -n 1)
ISSUER_ID=$ISSUER_ID python3 -c 'import json, os, sys
b = json.load(open("tests/data/licences/111000009000000146001.json"))
b["issuer"] = os.environ["ISSUER_ID"]
json.dump(b, open(sys.argv[1], "w"), ensure_ascii=False)' "$WORK/licence.json"
resp=$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $LKEY" -H 'Content-Type: application/json' \
  -H 'Idempotency-Key: bench-manual' "$U/v1/licences" --data-binary @"$WORK/licence.json")
[ "${resp##*$'\n'}" = 201 ] || { echo "bench-http: POST /v1/licences answered: $resp" >&2; exit 1; }
export SIDIAN_BODY=$WORK/licence.json
# 亮证: a wallet system (scope present) makes one 300-second token for each of 64 licences; an
# inspector's system (scope inspect) checks them in turn, each check read against the licence's
# status at that moment and recorded before it is answered.
WKEY=$("$BIN" client add bench-wallet --scope present --issuer "$ISSUER_ID" --data "$DATA" "${DBARGS[@]}" | tail -n 1)
IKEY=$("$BIN" client add bench-inspector --scope inspect --data "$DATA" "${DBARGS[@]}" | tail -n 1)
for i in $(seq 64); do
  lid=$(curl -s -H "Authorization: Bearer $LKEY" -H 'Content-Type: application/json' \
    -H "Idempotency-Key: bench-present-$i" "$U/v1/licences" --data-binary @"$WORK/licence.json" | json "['id']")
  curl -s -H "Authorization: Bearer $WKEY" -H 'Content-Type: application/json' \
    "$U/v1/licences/$lid/presentations" -d '{"profile":"basic","ttl_s":300}' | json "['token']"
done >"$WORK/tokens.txt"
export SIDIAN_TOKENS=$WORK/tokens.txt

echo "== sidian ($U)"
bench sidian-sm2 tools/bench/sign.lua "$U" "/v1/keys/$SM2_ID/sign" "$KEY" "$SIDIAN_PID"
bench sidian-p256 tools/bench/sign.lua "$U" "/v1/keys/$P256_ID/sign" "$KEY" "$SIDIAN_PID"
bench sidian-seal tools/bench/sign.lua "$U" "/v1/seals/$SEAL_ID/sign" "$KEY" "$SIDIAN_PID"
bench sidian-licence tools/bench/licence.lua "$U" /v1/licences "$LKEY" "$SIDIAN_PID"
bench sidian-present tools/bench/present.lua "$U" /v1/presentations/verify "$IKEY" "$SIDIAN_PID"

# Stop it the way an operator does: SIGTERM drains and signs the final checkpoint.
SHUTDOWN_OK=1
stop_server "$SIDIAN_PID" sidian || { SHUTDOWN_OK=0; sed 's/^/     serve.log: /' "$WORK/serve.log" | tail -n 5; }
SERVER=

# ---- bare baseline ----
BPORT=$(free_port)
B=http://127.0.0.1:$BPORT
"$BARE" "127.0.0.1:$BPORT" >"$WORK/bare.log" 2>&1 &
BARE_PID=$!
SERVER=$BARE_PID
wait_up "$B/empty"
echo "== bare axum baseline ($B)"
bench bare-sm2 tools/bench/sign.lua "$B" /sign "$KEY" "$BARE_PID"
bench bare-p256 tools/bench/sign.lua "$B" /sign-p256 "$KEY" "$BARE_PID"
bench empty tools/bench/empty.lua "$B" /empty "" "$BARE_PID"
kill -TERM "$BARE_PID" 2>/dev/null || true; wait "$BARE_PID" 2>/dev/null || true
SERVER=

# ---- audit ----
echo "== audit log"
AUDIT_OK=1
"$BIN" audit verify --data "$DATA" "${DBARGS[@]}" || AUDIT_OK=0
if [ -n "$ADMIN_URL" ]; then
  psql -Atq "$DB_URL" -F ' ' -c "SELECT subject, count(*) FROM audit_entries WHERE action = 'signature.created' GROUP BY subject" >"$WORK/signs.txt"
  TOTAL_ENTRIES=$(psql -Atq "$DB_URL" -c "SELECT count(*) FROM audit_entries")
  LICENCES_ISSUED=$(psql -Atq "$DB_URL" -c "SELECT count(*) FROM audit_entries WHERE action = 'licence.issued'")
  CHECKS_RECORDED=$(psql -Atq "$DB_URL" -c "SELECT count(*) FROM licence_uses WHERE kind = 'inspection'")
else
  python3 - "$DATA/sidian.db" >"$WORK/signs.txt" <<'PY'
import sqlite3, sys
for subject, n in sqlite3.connect(sys.argv[1]).execute(
        "SELECT subject, count(*) FROM audit_entries WHERE action = 'signature.created' GROUP BY subject"):
    print(subject, n)
PY
  TOTAL_ENTRIES=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM audit_entries').fetchone()[0])" "$DATA/sidian.db")
  LICENCES_ISSUED=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM audit_entries WHERE action = 'licence.issued'\").fetchone()[0])" "$DATA/sidian.db")
  CHECKS_RECORDED=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM licence_uses WHERE kind = 'inspection'\").fetchone()[0])" "$DATA/sidian.db")
fi

# ---- summary ----
SM2_ID=$SM2_ID P256_ID=$P256_ID SEAL_ID=$SEAL_ID MANUAL_SIGNS=$MANUAL_SIGNS TOTAL_ENTRIES=$TOTAL_ENTRIES \
LICENCES_ISSUED=$LICENCES_ISSUED CHECKS_RECORDED=$CHECKS_RECORDED \
AUDIT_OK=$AUDIT_OK SHUTDOWN_OK=$SHUTDOWN_OK python3 - <<'PY'
import json, os, sys
work = os.environ["WORK"]
rows = [json.loads(l) for l in open(f"{work}/results.jsonl")]
run = {r["label"]: r for r in rows if r["phase"] == "run"}
print()
print(f"{'route':<14} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'non-2xx':>8} {'sock err':>8}  CPU cores: server/wrk/other")
for label in ["sidian-sm2", "sidian-p256", "sidian-seal", "sidian-licence", "sidian-present",
              "bare-sm2", "bare-p256", "empty"]:
    if label not in run:
        continue
    r = run[label]
    print(f"{label:<14} {r['rps']:>9.0f} {r['p50_ms']:>8.2f} {r['p90_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['p999_ms']:>9.2f}"
          f" {r['non2xx']:>8} {sum(r['socket_errors'].values()):>8}  {r['server_cores']}/{r['wrk_cores']}/{r['other_cores']}")
print("(CPU: cores used during the run, of 2; \"other\" is everything else on the machine, PostgreSQL included)")
print()
for alg in ["sm2", "p256"]:
    if f"sidian-{alg}" not in run or f"bare-{alg}" not in run:
        continue
    s, b = run[f"sidian-{alg}"], run[f"bare-{alg}"]
    print(f"ratio sidian/bare {alg:<5}: {s['rps'] / b['rps']:.2f}  (sidian {s['rps']:.0f} / bare {b['rps']:.0f} req/s)")
if "sidian-seal" in run and "bare-sm2" in run:
    print(f"ratio seal/bare sm2  : {run['sidian-seal']['rps'] / run['bare-sm2']['rps']:.2f}")
for label, target, p99 in [("sidian-sm2", 12000, 10), ("sidian-seal", 10000, 10),
                          ("sidian-licence", 4000, 20), ("sidian-present", 10000, 10)]:
    if label not in run:
        continue
    s = run[label]
    print(f"goal {label} (>= {target} req/s, p99 <= {p99} ms): "
          f"{'MET' if s['rps'] >= target and s['p99_ms'] <= p99 else 'NOT MET'}"
          f" ({s['rps']:.0f} req/s, p99 {s['p99_ms']:.2f} ms)")

failed = sum(r["failed"] for r in rows)
print()
signed = {}
for line in open(f"{work}/signs.txt"):
    subject, n = line.split()
    signed[subject] = int(n)
ok = True
manual = int(os.environ["MANUAL_SIGNS"])
for alg, subject in [("sm2", "key:" + os.environ["SM2_ID"]), ("p256", "key:" + os.environ["P256_ID"]),
                     ("seal", "seal:" + os.environ["SEAL_ID"])]:
    runs = [r for r in rows if r["label"] == f"sidian-{alg}"]
    got = sum(r["statuses"].get("200", 0) for r in runs) + manual
    audited = signed.get(subject, 0)
    # wrk counts only the responses it read before its timer ran out; the requests still in
    # flight then (at most one per connection per run) are signed and audited too.
    slack = len(runs) * int(os.environ["CONNECTIONS"])
    good = got <= audited <= got + slack
    ok &= good
    print(f"audit {alg:<5}: {audited} signature.created entries for {got} signatures received"
          f" (+{audited - got} in flight when wrk stopped, at most {slack}) {'ok' if good else 'MISMATCH'}")
runs = [r for r in rows if r["label"] == "sidian-present"]
got = sum(r["statuses"].get("200", 0) for r in runs)
recorded = int(os.environ["CHECKS_RECORDED"])
slack = len(runs) * int(os.environ["CONNECTIONS"])
good = got <= recorded <= got + slack
ok &= good
print(f"checks recorded: {recorded} inspections in licence_uses for {got} verdicts received"
      f" (+{recorded - got} in flight when wrk stopped, at most {slack}) {'ok' if good else 'MISMATCH'}")
runs = [r for r in rows if r["label"] == "sidian-licence"]
got = sum(r["statuses"].get("201", 0) for r in runs) + 65
audited = int(os.environ["LICENCES_ISSUED"])
slack = len(runs) * int(os.environ["CONNECTIONS"])
good = got <= audited <= got + slack
ok &= good
print(f"audit licences: {audited} licence.issued entries for {got} licences received"
      f" (+{audited - got} in flight when wrk stopped, at most {slack}) {'ok' if good else 'MISMATCH'}")
print(f"audit log: {os.environ['TOTAL_ENTRIES']} entries in all, "
      f"verify {'passed' if os.environ['AUDIT_OK'] == '1' else 'FAILED'}")
if os.environ["SHUTDOWN_OK"] != "1":
    print("FAILED: sidian did not shut down cleanly on SIGTERM (see above)")
if failed:
    print(f"FAILED: {failed} requests failed (non-2xx or socket errors, warm-up included): "
          "these numbers are not valid")
if failed or not ok or os.environ["AUDIT_OK"] != "1" or os.environ["SHUTDOWN_OK"] != "1":
    sys.exit(1)
PY
