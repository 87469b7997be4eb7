#!/usr/bin/env bash
# PDF sealing and verification speed, sidian and pyHanko side by side in one run (same machine,
# same moment, same sample PDFs from tools/pdf-validate/make_pdfs.py). See tools/bench/README.md.
#
#   1. in one process, sealing: pyHanko (tools/pdf-validate/pyhanko_bench.py: CPU ms per seal,
#      1 and 200 pages, ECDSA P-256 and RSA-2048) and sidian (`cargo bench --bench pdf`)
#   2. whole process, sealing the 1-page PDF: hyperfine `sidian stamp` vs `pyhanko sign addsig`
#      (both ECDSA P-256, PAdES B-B, a visible seal with a picture)
#   3. verification of a 200-page PDF with 3 seals (made by sidian in part 1b): pyHanko in one
#      process (tools/bench/pyhanko_verify.py) beside criterion's verify row, then whole process
#      `pyhanko sign validate` vs `sidian verify` on that same file
#
# usage: tools/bench-pdf.sh
# env: PYHANKO_SECONDS (per pyHanko case, default 5), CRITERION_ARGS (passed to the pdf bench,
#      e.g. --quick), RUNS (hyperfine runs per command, default 30), SIDIAN_BIN (default: a fresh
#      release build)
# Parts marked [src/pdf] need the stamping code: without `sidian stamp` or benches/pdf.rs they are
# reported as SKIPPED and the script exits 1 after running the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PV=$ROOT/tools/pdf-validate
PYHANKO_SECONDS=${PYHANKO_SECONDS:-5}
RUNS=${RUNS:-30}
skipped=0
skip() { echo "SKIPPED [src/pdf]: $*"; skipped=$((skipped+1)); }

need() { command -v "$1" >/dev/null 2>&1; }
need hyperfine || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }
need curl || { echo "bench-pdf: curl is required" >&2; exit 2; }
"$PV/install.sh"
export PDF_VALIDATE_VENV=${PDF_VALIDATE_VENV:-$ROOT/target/pdf-tools/venv}
VENV=$PDF_VALIDATE_VENV
if [ -n "${SIDIAN_BIN:-}" ]; then BIN=$(realpath "$SIDIAN_BIN")
else echo "== build (release)"; cargo build --release --quiet; BIN=$ROOT/target/release/sidian; fi

WORK=$(mktemp -d)
SERVER=
cleanup() { if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$WORK"
echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (should be near 0), $("$VENV/bin/pyhanko" --version), $(openssl version)"
bash "$PV/make_pki.sh" pki >make_pki.log 2>&1 || { cat make_pki.log; exit 1; }
"$VENV/bin/python" "$PV/make_pdfs.py" pdfs
# pyHanko's CLI with a visible seal like pyhanko_bench.py's (text over the PNG), nothing else configured.
cat >pyhanko.yml <<'EOF'
stamp-styles:
  seal:
    type: text
    stamp-text: "Sealed by: %(signer)s\nTime: %(ts)s"
    background: pdfs/seal.png
    background-opacity: 1.0
    border-width: 0
EOF
PYHANKO=("$VENV/bin/pyhanko" --config "$WORK/pyhanko.yml")

echo
echo "== 1a. pyHanko in one process: CPU per seal (pyhanko_bench.py, ${PYHANKO_SECONDS}s per case)"
"$VENV/bin/python" "$PV/pyhanko_bench.py" --seconds "$PYHANKO_SECONDS" --json pyhanko_bench.json

echo
echo "== 1b. sidian in one process: cargo bench --bench pdf ${CRITERION_ARGS:-}"
if [ -f "$ROOT/benches/pdf.rs" ] && grep -q '^name = "pdf"' "$ROOT/Cargo.toml"; then
  # shellcheck disable=SC2086 # CRITERION_ARGS is a list of words
  (cd "$ROOT" && cargo bench --quiet --bench pdf -- ${CRITERION_ARGS:-})
else
  skip "benches/pdf.rs does not exist yet"
fi

echo
echo "== 2. whole process, 1-page PDF, ECDSA P-256, B-B, visible seal: sidian stamp vs pyhanko sign addsig"
# A vault with a P-256 seal: seals are made through the API, so serve once, then stop.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SEAL=
"$BIN" serve --data data --listen "127.0.0.1:$PORT" >serve.log 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
KEY=$("$BIN" client add bench-pdf --data data | tail -n 1)
SEAL=$(curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/v1/seals" \
  -d '{"name":"某某公司","holder":{"name":"某某公司","uscc":"91370406L24894136J"},"alg":"p256"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
PH_SIGN=("${PYHANKO[@]}" sign addsig --field "1/240,30,380,170/Seal1" --style-name seal --use-pades
         pemder --key pki/seal-ec.key --cert pki/seal-ec.pem --chain pki/inter.pem --no-pass pdfs/doc-1p.pdf ph-1p.pdf)
"${PH_SIGN[@]}"
SD_STAMP=("$BIN" stamp --data data --seal "$SEAL" pdfs/doc-1p.pdf sd-1p.pdf)
cmds=("$(printf '%q ' "${PH_SIGN[@]}")")
names=(-n "pyhanko sign addsig")
if "${SD_STAMP[@]}" >stamp.log 2>&1; then
  cmds+=("$(printf '%q ' "${SD_STAMP[@]}")"); names+=(-n "sidian stamp")
else
  skip "sidian stamp failed or does not exist: $(tail -n 3 stamp.log)"
fi
hyperfine -N --warmup 3 --runs "$RUNS" "${names[@]}" "${cmds[@]}" --export-json stamp-hyperfine.json

echo
echo "== 3. verification, 200 pages with 3 P-256 seals made by sidian (benches/pdf.rs writes them)"
# The same file for both: cargo bench --bench pdf (part 1b) sealed doc-200p.pdf three times, each
# seal its own revision, and wrote it with its root to target/bench-pdf/.
BP=$ROOT/target/bench-pdf
if [ -f "$BP/200p-3seals.pdf" ]; then
  echo "-- sidian in one process: the verify/200-page row of part 1b (criterion)"
  echo "-- pyHanko in one process (parse + validate_pdf_signature x3 with difference analysis)"
  "$VENV/bin/python" "$ROOT/tools/bench/pyhanko_verify.py" --seconds "$PYHANKO_SECONDS" "$BP/200p-3seals.pdf" "$BP/root.pem"
  echo "-- whole process: pyhanko sign validate vs sidian verify (the bench root as an extra anchor)"
  mkdir -p trust && cp "$BP/root.pem" trust/
  PH_VAL=("$VENV/bin/pyhanko" --config "$WORK/pyhanko.yml" sign validate --no-revocation-check --trust "$BP/root.pem" --trust-replace "$BP/200p-3seals.pdf")
  SD_VER=("$BIN" verify --data data --trust-dir trust "$BP/200p-3seals.pdf")
  "${SD_VER[@]}" >verify.json
  hyperfine -N --warmup 2 --runs "$((RUNS < 10 ? RUNS : 10))" -n "pyhanko sign validate" "$(printf '%q ' "${PH_VAL[@]}")" \
    -n "sidian verify" "$(printf '%q ' "${SD_VER[@]}")" --export-json verify-hyperfine.json
else
  skip "target/bench-pdf/200p-3seals.pdf missing (part 1b did not run)"
fi

echo
echo "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$skipped" -gt 0 ]; then echo "bench-pdf: $skipped part(s) SKIPPED (they need src/pdf)"; exit 1; fi
