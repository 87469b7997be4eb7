#!/usr/bin/env bash
# Memory and liveness under a burst of large anonymous uploads: N parallel uploads of an
# M-megabyte PDF to `POST /v1/documents/verify` (curl streams each from disk), while the
# server's RSS is sampled from /proc every 50 ms and /healthz is timed every 50 ms (a new
# connection each time, as a health checker makes). Prints the
# peak RSS, the RSS once the burst is over, the slowest /healthz, and how many uploads were
# answered 200, 503 (`busy`) and 429 (`rate_limited`). See README "Limits on anonymous callers".
#
# usage: tools/bench-uploads.sh [N=80] [MB=30]
# env: PEERS=many (default: each upload from its own loopback address 127.0.1.x, as a
#      distributed burst arrives) or PEERS=one (all from 127.0.0.1: the per-peer share decides);
#      SERVE_ARGS (extra `sidian serve` flags, e.g. "--upload-budget-mib 256");
#      ROUNDS (bursts one after the other, default 1: more show that what the allocator keeps
#      after a burst is reused, not grown); MAX_RSS_MIB (default 512), MAX_HEALTHZ_MS (default 50): exit 1 beyond either;
#      SENDERS=idle (default: the curls run as SCHED_IDLE, see below) or SENDERS=normal.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-80}
MB=${2:-30}
PEERS=${PEERS:-many}
MAX_RSS_MIB=${MAX_RSS_MIB:-512}
MAX_HEALTHZ_MS=${MAX_HEALTHZ_MS:-50}
ROUNDS=${ROUNDS:-1}
SENDERS=${SENDERS:-idle}
BIN=target/release/sidian
for tool in curl python3 timeout chrt; do
  command -v "$tool" >/dev/null || { echo "bench-uploads: $tool is required" >&2; exit 2; }
done
echo "== build (release)"
cargo build --release --quiet

WORK=$(mktemp -d)
DATA=$WORK/data
SERVER=
SAMPLER=
PROBE=
cleanup() {
  local pid
  for pid in $SAMPLER $PROBE $SERVER; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# An unsigned PDF whose one page draws nothing but which carries an M MB incompressible stream:
# the verifier has to read all of it.
python3 - "$WORK/doc.pdf" "$MB" <<'EOF'
import os, sys
path, mb = sys.argv[1], int(sys.argv[2])
data = os.urandom(mb * 1000 * 1000 - 600)
objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"]
out, offsets = bytearray(b"%PDF-1.7\n"), []
for i, o in enumerate(objs, 1):
    offsets.append(len(out))
    out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
open(path, "wb").write(out)
EOF

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
# shellcheck disable=SC2086 # SERVE_ARGS is a list of flags
"$BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT" ${SERVE_ARGS:-} >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -fs "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$URL/healthz" >/dev/null || { echo "bench-uploads: the server did not start" >&2; cat "$WORK/serve.log" >&2; exit 2; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status"; }
echo "== $N parallel uploads of $(stat -c %s "$WORK/doc.pdf") bytes, peers: $PEERS, server flags: ${SERVE_ARGS:-(defaults)}"
echo "RSS before: $(( $(rss_kib) / 1024 )) MiB"

( while kill -0 "$SERVER" 2>/dev/null; do rss_kib >>"$WORK/rss"; sleep 0.05; done ) &
SAMPLER=$!
# A health checker: a new connection per probe (a python loop, not a curl per probe, whose own
# start-up under this load would be what gets timed).
python3 - "$PORT" "$WORK/healthz" <<'EOF' &
import http.client, sys, time
port, out = int(sys.argv[1]), open(sys.argv[2], "w", buffering=1)
while True:
    start = time.perf_counter()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/healthz")
        status = c.getresponse().status
        c.close()
    except OSError:
        status = 0
    out.write(f"{status} {time.perf_counter() - start}\n")
    time.sleep(0.05)
EOF
PROBE=$!
sleep 0.3

# The uploading curls, and the shell that starts them, run as SCHED_IDLE: in a real burst the
# senders' CPU (starting 80 processes is some) is on other machines; on this one 80 of them (even
# at nice 10, whose weights add up) would crowd out the server and the prober alike.
START=$(date +%s.%N)
(
  [ "$SENDERS" = normal ] || chrt --idle -p 0 "$BASHPID"
  for round in $(seq "$ROUNDS"); do
    UPLOADS=()
    for i in $(seq "$N"); do
      FROM=()
      [ "$PEERS" = many ] && FROM=(--interface "127.0.1.$i")
      curl -s -o "$WORK/answer.$round.$i" -D "$WORK/headers.$round.$i" --max-time 60 -w '%{http_code}\n' "${FROM[@]}" \
        -X POST -H 'Content-Type: application/pdf' -T "$WORK/doc.pdf" "$URL/v1/documents/verify" >"$WORK/code.$round.$i" &
      UPLOADS+=($!)
    done
    for pid in "${UPLOADS[@]}"; do wait "$pid" || true; done
  done
)
END=$(date +%s.%N)
sleep 1
kill "$PROBE" 2>/dev/null || true; wait "$PROBE" 2>/dev/null || true; PROBE=
AFTER=$(rss_kib)
kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=

python3 - "$WORK" "$N" "$START" "$END" "$AFTER" "$MAX_RSS_MIB" "$MAX_HEALTHZ_MS" <<'EOF'
import collections, glob, json, os, sys
work, n, start, end, after, max_rss, max_hz = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
rss = [int(l) for l in open(os.path.join(work, "rss")) if l.strip()]
hz = [l.split() for l in open(os.path.join(work, "healthz")) if l.strip()]
hz_ms = [float(t) * 1000 for c, t in hz]
hz_bad = sum(1 for c, _ in hz if c != "200")
runs = sorted(p.rsplit("code.", 1)[1] for p in glob.glob(os.path.join(work, "code.*")))
codes = collections.Counter(open(os.path.join(work, f"code.{r}")).read().strip() or "none" for r in runs)
retry_ok = True
for r in runs:
    if open(os.path.join(work, f"code.{r}")).read().strip() in ("503", "429"):
        body = json.load(open(os.path.join(work, f"answer.{r}")))
        headers = open(os.path.join(work, f"headers.{r}")).read().lower()
        retry_ok &= bool(body.get("error", {}).get("code")) and "\nretry-after:" in headers
peak = max(rss) / 1024
print(f"burst: {end - start:.1f} s")
print(f"max RSS: {peak:.0f} MiB (sampled {len(rss)} times every 50 ms); after the burst: {after / 1024:.0f} MiB")
print(f"/healthz: {len(hz_ms)} probes, max {max(hz_ms):.1f} ms, median {sorted(hz_ms)[len(hz_ms) // 2]:.1f} ms, failed {hz_bad}")
print("answers: " + ", ".join(f"{c}: {k}" for c, k in sorted(codes.items())))
ok = peak <= max_rss and max(hz_ms) < max_hz and hz_bad == 0 and retry_ok and set(codes) <= {"200", "503", "429"}
print("PASS" if ok else f"FAIL (limits: RSS <= {max_rss} MiB, /healthz < {max_hz} ms, only 200/503/429 with JSON errors)")
sys.exit(0 if ok else 1)
EOF
