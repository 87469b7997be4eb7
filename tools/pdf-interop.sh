#!/usr/bin/env bash
# PDF seals checked by validators nobody here wrote: sidian stamps sample PDFs (through the API and
# the `sidian stamp` CLI) with P-256, RSA and SM2 seals, and tools/pdf-validate/validate.sh checks
# every result with pyHanko (difference analysis included), poppler's pdfsig (NSS) and OpenSSL
# (cms_check.py), against the roots of `sidian trust export --roots-only` alone (SM2, which only
# OpenSSL can check, against the whole export: see cms_ok); `sidian verify` must accept them too. Tampered copies (a flipped byte, an incremental update changing the page)
# must fail everywhere. A licence issued through the API and fetched as PDF (the issuer's P-256
# licence seal, certified P1) must validate too.
#
# usage: tools/pdf-interop.sh [DATABASE_URL]     (default: the embedded SQLite file)
#
# Needs tools/pdf-validate/install.sh first (pdfsig, qpdf, certutil, the pyHanko venv in
# target/pdf-tools/venv or $PDF_VALIDATE_VENV), curl and openssl.
# Part 1 checks the validators themselves on PDFs signed by pyHanko with a throw-away PKI, so that a
# failure in part 2 means sidian's PDF, not the harness. PDF_INTEROP_TOOLS_ONLY=1 runs part 1 only
# (it needs no sidian). Part 2 needs `sidian stamp` and `POST /v1/seals/{id}/stamp` (src/pdf).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SIDIAN_BIN:-target/release/sidian}
PV=tools/pdf-validate
export PDF_VALIDATE_VENV=${PDF_VALIDATE_VENV:-$PWD/target/pdf-tools/venv}
PY=$PDF_VALIDATE_VENV/bin/python
if [ ! -x "$PDF_VALIDATE_VENV/bin/pyhanko" ] || ! command -v pdfsig >/dev/null || ! command -v qpdf >/dev/null || ! command -v certutil >/dev/null; then
  echo "pdf-interop: validators missing: run tools/pdf-validate/install.sh first" >&2
  exit 1
fi
DB_URL=${1:-}
WORK=$(mktemp -d)
DATA=$WORK/data
DBARGS=()
[ -n "$DB_URL" ] && DBARGS=(--database "$DB_URL")
SERVER=
# The server writes its last checkpoint into the data directory as it stops: wait for it before
# removing the directory.
cleanup() { if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi; rm -rf "$WORK"; }
trap cleanup EXIT
pass=0; fail=0
ok()   { echo "ok   $*"; pass=$((pass+1)); }
bad()  { echo "FAIL $*"; fail=$((fail+1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
indent() { sed 's/^/       | /' "$@"; }
summary() { echo "pdf-interop${DB_URL:+ (postgres)}: $pass passed, $fail failed"; [ "$fail" = 0 ]; }

# pdf_ok NAME FILE ROOTS REGEX...: validate.sh -v passes with all three validators (STRICT=1: no
# N/A), and pyHanko's summary of each signature, in the order pyHanko lists them (oldest first),
# matches the corresponding extended regex in full, e.g. 'INTACT:TRUSTED,UNTOUCHED'.
pdf_ok() {
  local name=$1 f=$2 roots=$3; shift 3
  local out=$f.validate why='' sums=() i
  if ! STRICT=1 "$PV/validate.sh" -v "$f" "$roots" >"$out" 2>&1; then why="validate.sh: $(grep '^OVERALL' "$out" || echo "no verdict")"; fi
  # "  [PASS] pyhanko  Sig1: INTACT:TRUSTED,UNTOUCHED;Sig2: ..." -> one summary per signature
  IFS=';' read -r -a sums <<<"$(sed -n 's/^  \[[A-Z/ ]*\] pyhanko  //p' "$out")"
  if [ -z "$why" ] && [ ${#sums[@]} != $# ]; then why="pyHanko lists ${#sums[@]} signature(s), expected $#"; fi
  i=0
  while [ -z "$why" ] && [ $# -gt 0 ]; do
    [[ ${sums[$i]##*: } =~ ^($1)$ ]] || why="pyHanko: '${sums[$i]}' is not '$1'"
    i=$((i+1)); shift
  done
  if [ -z "$why" ]; then ok "$name: $(grep '^OVERALL' "$out")"; else bad "$name: $why"; indent "$out"; fi
}
# pdf_fails NAME FILE ROOTS: validate.sh exits 1 and not one of the three validators passes.
pdf_fails() {
  local name=$1 f=$2 roots=$3 out=$2.validate rc=0
  "$PV/validate.sh" "$f" "$roots" >"$out" 2>&1 || rc=$?
  if [ "$rc" = 1 ] && ! grep -q '^  \[PASS\]' "$out"; then
    ok "$name: $(grep '^OVERALL' "$out")"
  else bad "$name: validate.sh exit $rc"; indent "$out"; fi
}
# The signature widgets of FILE: "PAGE X1 Y1 X2 Y2" (1-based page, rectangle in pt) per line.
widgets() {
  "$PY" - "$1" <<'PY'
import sys
from pyhanko.pdf_utils.reader import PdfFileReader
r = PdfFileReader(open(sys.argv[1], "rb"), strict=False)
def d(o):
    return o.get_object() if hasattr(o, "get_object") else o
def pages(node):
    if "/Kids" not in node:
        yield node
        return
    for k in node["/Kids"]:
        yield from pages(d(k))
for n, p in enumerate(pages(r.root["/Pages"]), 1):
    for a in (d(p["/Annots"]) if "/Annots" in p else []):
        a = d(a)
        parent = a["/Parent"] if "/Parent" in a else {}
        ft = a["/FT"] if "/FT" in a else (parent["/FT"] if "/FT" in parent else None)
        if "/Subtype" in a and a["/Subtype"] == "/Widget" and ft == "/Sig":
            x1, y1, x2, y2 = (float(v) for v in a["/Rect"])
            print(n, min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
PY
}
# placed FILE PAGE X Y UNIT: a visible signature widget on PAGE whose rectangle holds the point
# (X, Y) from the page's bottom-left corner (whether sidian anchors the seal there by its corner or
# its centre); PAGE alone: any visible widget on that page.
placed() {
  local f=$1 page=$2 x=${3:-} y=${4:-} unit=${5:-mm}
  widgets "$f" | awk -v page="$page" -v x="$x" -v y="$y" -v unit="$unit" '
    BEGIN { k = unit == "mm" ? 72 / 25.4 : 1; px = x * k; py = y * k; t = 1 }
    $1 == page && $4 > $2 && $5 > $3 && (x == "" || ($2 - t <= px && px <= $4 + t && $3 - t <= py && py <= $5 + t)) { found = 1 }
    END { exit !found }'
}
# verdict FILE: exit code and verdict of `sidian verify FILE`, as "RC VERDICT".
verdict() {
  local rc=0 v
  "$BIN" verify "$1" --data "$DATA" "${DBARGS[@]}" >"$1.verify.json" 2>"$1.verify.err" || rc=$?
  v=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['verdict'])" "$1.verify.json" 2>/dev/null || echo "(no report)")
  echo "$rc $v"
}
verify_accepts() { # NAME FILE VERDICT_REGEX
  local rv; rv=$(verdict "$2")
  if [[ $rv =~ ^0\ ($3)$ ]]; then ok "$1: sidian verify: ${rv#* }"; else bad "$1: sidian verify exit/verdict: $rv"; indent "$2.verify.json" "$2.verify.err"; fi
}
verify_rejects() { # NAME FILE
  local rv; rv=$(verdict "$2")
  if [[ ! $rv =~ ^0\  ]] && [[ ! $rv =~ \ VALID ]]; then ok "$1: sidian verify: ${rv#* } (exit ${rv%% *})"; else bad "$1: sidian verify accepts it: $rv"; fi
}
# cms_ok NAME FILE: cms_check.py (OpenSSL, SM2 user ID 1234567812345678) passes, on an SM2/SM3
# signature. Its trust file is the whole `sidian trust export`, not the roots alone: OpenSSL 3.0
# checks the SM2 signature on an intermediate CA with an empty user ID, so it needs the export's
# rendering of the SM2 issuing CA (pki::sm2_empty_id_rendering) in -CAfile, where it is found
# before the conformant copy embedded in the CMS.
cms_ok() {
  if "$PY" "$PV/cms_check.py" -v "$2" "$WORK/trust-all.pem" >"$2.cms" 2>&1 && grep -q '^HAS_SM2=1' "$2.cms" && grep -q '^ALGOS: sm3/sm2$' "$2.cms"; then
    ok "$1: cms_check.py: $(grep -m1 'crypto+chain' "$2.cms" | sed 's/^ *//')"
  else bad "$1: cms_check.py"; indent "$2.cms"; fi
}

# ---- Part 1: the validators on pyHanko's own signatures (no sidian) ----
bash "$PV/make_pki.sh" "$WORK/pki" >"$WORK/make_pki.log" 2>&1 || { indent "$WORK/make_pki.log"; bad "make_pki.sh"; }
"$PY" "$PV/make_pdfs.py" "$WORK/pdfs" >"$WORK/make_pdfs.log" 2>&1 || { indent "$WORK/make_pdfs.log"; bad "make_pdfs.py"; }
PDFS=$WORK/pdfs PKI=$WORK/pki
echo '{}' >"$WORK/pyhanko.yml"
pyhanko_sign() { # IN OUT KEYNAME FIELDSPEC
  "$PDF_VALIDATE_VENV/bin/pyhanko" --config "$WORK/pyhanko.yml" sign addsig --field "$4" --use-pades \
    pemder --key "$PKI/$3.key" --cert "$PKI/$3.pem" --chain "$PKI/inter.pem" --no-pass "$1" "$2"
}
if pyhanko_sign "$PDFS/doc-1p.pdf" "$WORK/ph.pdf" seal-ec 1/240,30,380,170/Sig1 \
   && pyhanko_sign "$WORK/ph.pdf" "$WORK/ph2.pdf" seal-rsa 1/400,30,540,170/Sig2; then
  pdf_ok "validators: pyHanko-signed PDF" "$WORK/ph.pdf" "$PKI/root.pem" 'INTACT:TRUSTED,UNTOUCHED'
  pdf_ok "validators: pyHanko-signed twice" "$WORK/ph2.pdf" "$PKI/root.pem" \
    'INTACT:TRUSTED,EXTENDED_WITH_[A-Z_]+,ACCEPTABLE_MODIFICATIONS' 'INTACT:TRUSTED,UNTOUCHED'
  check "validators: widget placement read back" placed "$WORK/ph2.pdf" 1 400 100 pt
  pdf_fails "validators: wrong trust root" "$WORK/ph.pdf" "$PKI/other-root.pem"
  for t in flip incr; do
    "$PY" "$PV/tamper.py" "$t" "$WORK/ph.pdf" "$WORK/ph-$t.pdf" >/dev/null
    pdf_fails "validators: pyHanko-signed, tampered ($t)" "$WORK/ph-$t.pdf" "$PKI/root.pem"
  done
else
  bad "pyhanko sign addsig"
fi
if [ "${PDF_INTEROP_TOOLS_ONLY:-0}" = 1 ]; then summary; exit; fi

# ---- Part 2: sidian's stamps (needs src/pdf: `sidian stamp` and POST /v1/seals/{id}/stamp) ----
[ -x "$BIN" ] || cargo build --release --quiet
if ! "$BIN" stamp --help >/dev/null 2>&1; then
  bad "this sidian has no 'stamp' verb (src/pdf missing?): part 2 not run"
  summary; exit 1
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# --public-url: the certificates name the CRL and CA certificate this server serves (B-LTA below).
"$BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT" --public-url "http://127.0.0.1:$PORT" "${DBARGS[@]}" >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
check "sidian serve answers /healthz" curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz"
A=$("$BIN" client add pdf-interop --data "$DATA" "${DBARGS[@]}" | tail -n 1)
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
declare -A SEAL
for alg in p256 rsa2048 sm2; do
  R=$(curl -s -H "Authorization: Bearer $A" -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/v1/seals" \
      -d "{\"name\":\"某某公司\",\"holder\":{\"name\":\"某某公司\",\"uscc\":\"91370406L24894136J\"},\"alg\":\"$alg\"}")
  SEAL[$alg]=$(echo "$R" | json "['id']" 2>/dev/null || true)
  if [ -n "${SEAL[$alg]}" ]; then ok "seal $alg created"; else bad "seal $alg: $R"; fi
done
# stamp SEAL_ALG IN OUT QUERY: POST /v1/seals/{id}/stamp?QUERY, 200 application/pdf.
stamp() {
  local st
  st=$(curl -s -o "$3" -w '%{http_code} %{content_type}' -H "Authorization: Bearer $A" -H 'Content-Type: application/pdf' \
       --data-binary @"$2" "http://127.0.0.1:$PORT/v1/seals/${SEAL[$1]}/stamp?$4") || st="$st (curl exit $?)"
  if [[ $st == "200 application/pdf"* ]] && head -c 5 "$3" | grep -q '%PDF-'; then ok "API stamp $1 $(basename "$3") ($4)"
  else bad "API stamp $1 $(basename "$3") ($4): $st $(head -c 300 "$3" 2>/dev/null)"; rm -f "$3"; fi
}
# P-256 and RSA, 1 page (on page 1) and 200 pages (on the last page), PAdES B-B and B-T.
for alg in p256 rsa2048; do
  for level in b-b b-t; do
    stamp "$alg" "$PDFS/doc-1p.pdf" "$WORK/$alg-1p-$level.pdf" "page=1&x=150&y=40&unit=mm&level=$level"
    stamp "$alg" "$PDFS/doc-200p.pdf" "$WORK/$alg-200p-$level.pdf" "page=200&x=30&y=30&unit=mm&level=$level"
  done
done
# Stamped twice: P-256, then RSA on the output at another place (in pt).
stamp p256 "$PDFS/doc-1p.pdf" "$WORK/twice-1.pdf" "page=1&x=30&y=40&unit=mm&level=b-b"
[ -f "$WORK/twice-1.pdf" ] && stamp rsa2048 "$WORK/twice-1.pdf" "$WORK/twice.pdf" "page=1&x=300&y=100&unit=pt&level=b-b"
# Certification signatures (DocMDP P=2: form filling and signing allowed later; P=1: no change).
for p in p1 p2; do stamp p256 "$PDFS/doc-1p.pdf" "$WORK/certify-$p.pdf" "page=1&x=150&y=40&unit=mm&certify=$p&level=b-b"; done
# A 骑缝章 over the right edge of all 200 pages (one signature; strips 2..200 are stamp annotations).
stamp p256 "$PDFS/doc-200p.pdf" "$WORK/cross-page.pdf" "cross_page=true&level=b-t"
stamp sm2 "$PDFS/doc-1p.pdf" "$WORK/sm2-1p-b-b.pdf" "page=1&x=150&y=40&unit=mm&level=b-b"
stamp sm2 "$PDFS/doc-200p.pdf" "$WORK/sm2-200p-b-t.pdf" "page=200&x=30&y=30&unit=mm&level=b-t"

# PAdES B-LTA with a P-256 seal of its own (it is revoked below): pyHanko validates it as LTA with
# revocation required (the DSS, and the CRL Distribution Point served by this vault), pdfsig still
# accepts the seal signature; once the seal is revoked for keyCompromise, pyHanko fetches the CRL
# from the vault and reports it revoked.
R=$(curl -s -H "Authorization: Bearer $A" -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/v1/seals" \
    -d '{"name":"某某公司","holder":{"name":"某某公司","uscc":"91370406L24894136J"},"alg":"p256"}')
SEAL[lta]=$(echo "$R" | json "['id']" 2>/dev/null || true)
LTA=$WORK/p256-1p-b-lta.pdf
stamp lta "$PDFS/doc-1p.pdf" "$LTA" "page=1&x=150&y=40&unit=mm&level=b-lta"
curl -fs -o "$WORK/p256-root.cer" "http://127.0.0.1:$PORT/v1/pki/ca/p256-root.cer" || bad "GET /v1/pki/ca/p256-root.cer"
if [ -f "$LTA" ]; then
  if out=$("$PY" "$PV/lta_check.py" lta "$LTA" "$WORK/p256-root.cer" 2>&1); then ok "pyHanko PAdES-LTA: $out"
  else bad "pyHanko PAdES-LTA: $out"; fi
  openssl x509 -inform der -in "$WORK/p256-root.cer" -out "$WORK/p256-root.pem"
  # poppler 22.12 cannot check an RFC 3161 document time-stamp ("not yet verified", so
  # validate.sh's pdfsig line is FAIL): the seal's own signature must be valid and trusted.
  "$PV/validate.sh" "$LTA" "$WORK/p256-root.pem" >"$LTA.validate" 2>&1 || true
  line=$(grep '^  \[[A-Z/ ]*\] pdfsig' "$LTA.validate" || true)
  if [[ $line == *"1 Signature Validation: Signature is Valid."* && $line == *"1 Certificate Validation: Certificate is Trusted."* ]] \
     && ! grep -qiE 'invalid|revoked' <<<"$line"; then ok "pdfsig accepts the B-LTA seal"
  else bad "pdfsig on the B-LTA seal"; indent "$LTA.validate"; fi
  st=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $A" -H 'Content-Type: application/json' \
       "http://127.0.0.1:$PORT/v1/seals/${SEAL[lta]}/revoke" -d '{"reason":"interop","reason_code":"keyCompromise"}')
  check "B-LTA seal revoked (keyCompromise): HTTP $st" test "$st" = 200
  if out=$("$PY" "$PV/lta_check.py" revoked "$LTA" "$WORK/p256-root.cer" 2>&1); then ok "pyHanko after revocation: $out"
  else bad "pyHanko after revocation: $out"; fi
fi

# A licence PDF: a licence issued through the API, its file fetched with ?format=pdf (the
# issuer's P-256 licence seal, certified with DocMDP P1); validated below against the roots.
ISS=$("$BIN" issuer add 济南市市场监督管理局 --uscc 11370100004312345D --data "$DATA" "${DBARGS[@]}" | tail -n 1)
LK=$("$BIN" client add licence-interop --scope licence:issue --issuer "$ISS" --data "$DATA" "${DBARGS[@]}" | tail -n 1)
R=$(curl -s -H "Authorization: Bearer $LK" -H 'Content-Type: application/json' -H 'Idempotency-Key: pdf-interop-licence' \
    "http://127.0.0.1:$PORT/v1/licences" -d '{"type":"111000009000000146001",
      "holder":{"name":"济南某某科技有限公司","id_type":"001","id_number":"91370100MA3C123459"},
      "valid_from":"2026-01-01","fields":{"entity_type":"有限责任公司（自然人投资或控股）",
      "legal_representative":"张三","registered_capital":"壹佰万元整","established_on":"2020-05-01",
      "operating_from":"2020-05-01","operating_to":"长期","domicile":"山东省济南市历下区某某路1号",
      "business_scope":"软件开发；信息技术咨询服务"}}')
LID=$(echo "$R" | json "['id']" 2>/dev/null || true)
LPDF=$WORK/licence.pdf
if [ -n "$LID" ]; then
  st=$(curl -s -o "$LPDF" -w '%{http_code} %{content_type}' -H "Authorization: Bearer $LK" \
       "http://127.0.0.1:$PORT/v1/licences/$LID/file?format=pdf") || st="$st (curl exit $?)"
  if [[ $st == "200 application/pdf"* ]] && head -c 5 "$LPDF" | grep -q '%PDF-'; then ok "licence $LID: GET file?format=pdf"
  else bad "licence file?format=pdf: $st $(head -c 300 "$LPDF" 2>/dev/null)"; rm -f "$LPDF"; fi
else bad "licence issued through the API: $R"; fi

# A handwritten signature (P-256, the strokes as vector paths) on page 1, then the authority's P-256
# seal on the signed file: both must validate everywhere, and the drawn strokes must render.
python3 - "$WORK/capture.json" <<'PY'
import json, math, sys
# A loop-and-flourish signature: 3 strokes, 240 Hz-like sampling, about 1.6 s, pressure varying.
strokes, t = [], 0.0
for k in range(3):
    pts = []
    for i in range(120):
        a = i / 119 * 2 * math.pi
        x = 90 + k * 150 + 55 * math.sin(a) + 25 * i / 119
        y = 100 + 45 * math.sin(2 * a + k) * math.cos(a / 2)
        pts.append({"x": round(x, 2), "y": round(y, 2), "t_ms": round(t, 1), "pressure": round(0.35 + 0.3 * math.sin(a) ** 2, 3)})
        t += 4.2
    strokes.append(pts)
    t += 180
json.dump({"canvas": {"width": 600, "height": 200, "dpi": 96}, "device": "pdf-interop synthetic pen",
           "consent": "本人已阅读并同意上述内容。", "strokes": strokes}, open(sys.argv[1], "w"), ensure_ascii=False)
PY
R=$(curl -s -H "Authorization: Bearer $A" -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/v1/signers" \
    -d '{"name":"张三","id_type":"resident_id","id_number":"11010519491231002X","phone":"13800138000","verified_by":"face"}')
SIGNER=$(echo "$R" | json "['id']" 2>/dev/null || true)
if [ -n "$SIGNER" ]; then ok "signer enrolled"; else bad "signer: $R"; fi
HS=$WORK/handsigned.pdf
st=$(curl -s -o "$HS" -w '%{http_code} %{content_type}' -H "Authorization: Bearer $A" \
     -F "document=@$PDFS/doc-1p.pdf;type=application/pdf" -F "capture=@$WORK/capture.json;type=application/json" \
     -F 'placement={"page":1,"x":30,"y":40,"width":60,"height":24,"unit":"mm"};type=application/json' \
     "http://127.0.0.1:$PORT/v1/signers/$SIGNER/sign") || st="$st (curl exit $?)"
if [[ $st == "200 application/pdf"* ]]; then ok "handwritten signature: POST /v1/signers/{id}/sign"
else bad "handwritten signature: $st $(head -c 300 "$HS" 2>/dev/null)"; rm -f "$HS"; fi
[ -f "$HS" ] && stamp p256 "$HS" "$WORK/handsigned-sealed.pdf" "page=1&x=120&y=40&unit=mm&level=b-b"

# Long-term validation added by another tool: pyHanko adds a DSS to a sidian B-T seal (fetching the
# CRLs this vault serves) and sets the catalog's /Version (none before) with it; `sidian verify` must take that
# as an allowed later change (checked below, once the server is stopped).
PHLTV=$WORK/p256-1p-b-t-pyhanko-ltv.pdf
if [ -f "$WORK/p256-1p-b-t.pdf" ]; then
  if out=$("$PY" "$PV/ltv_add.py" "$WORK/p256-1p-b-t.pdf" "$PHLTV" "$WORK/p256-root.cer" 2>&1) && grep -qE '^Version /[0-9.]+ .* DSS True$' <<<"$out"; then
    ok "pyHanko adds validation info to a sidian seal: $(tail -n 1 <<<"$out" | cut -c1-60)"
  else bad "pyHanko ltv_add.py"; echo "$out" | indent; rm -f "$PHLTV"; fi
fi

# The CLI opens the same vault: stop the server first (one process at a time on the SQLite file).
kill -TERM "$SERVER"
for _ in $(seq 100); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$SERVER" 2>/dev/null || true
wait "$SERVER" 2>/dev/null || true; SERVER=
"$BIN" trust export --roots-only --data "$DATA" "${DBARGS[@]}" >"$WORK/roots.pem"
check "trust export --roots-only: the SM2 and P-256 roots" test "$(grep -c 'BEGIN CERTIFICATE' "$WORK/roots.pem")" = 2
"$BIN" trust export --data "$DATA" "${DBARGS[@]}" >"$WORK/trust-all.pem"
cli_stamp() { # NAME OUT ARGS...: sidian stamp ARGS... OUT
  local name=$1 out=$2; shift 2
  if "$BIN" stamp --data "$DATA" "${DBARGS[@]}" "$@" "$out" >"$out.log" 2>&1 && head -c 5 "$out" | grep -q '%PDF-'; then ok "$name"
  else bad "$name"; indent "$out.log"; rm -f "$out"; fi
}
cli_stamp "CLI stamp p256, defaults" "$WORK/cli-p256.pdf" --seal "${SEAL[p256]}" "$PDFS/doc-1p.pdf"
cli_stamp "CLI stamp rsa2048 --subfilter pkcs7 on page 3 (pt)" "$WORK/cli-rsa-pkcs7.pdf" --seal "${SEAL[rsa2048]}" \
  --subfilter pkcs7 --page 3 --x 100 --y 50 --unit pt "$PDFS/doc-200p.pdf"
cli_stamp "CLI stamp p256 --subfilter pkcs7 --level b-t" "$WORK/cli-p256-pkcs7-bt.pdf" --seal "${SEAL[p256]}" \
  --subfilter pkcs7 --level b-t --x 20 --y 20 "$PDFS/doc-1p.pdf"
cli_stamp "CLI stamp sm2 --certify p2" "$WORK/cli-sm2-certify.pdf" --seal "${SEAL[sm2]}" --certify p2 "$PDFS/doc-1p.pdf"

ROOTS=$WORK/roots.pem
BB='INTACT:TRUSTED,UNTOUCHED'
BT='INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>,UNTOUCHED'
for alg in p256 rsa2048; do
  for doc in 1p 200p; do
    for level in b-b b-t; do
      f=$WORK/$alg-$doc-$level.pdf; [ -f "$f" ] || continue
      want=$BB; [ "$level" = b-t ] && want=$BT
      pdf_ok "$alg $doc $level" "$f" "$ROOTS" "$want"
      if [ "$doc" = 1p ]; then check "$alg $doc $level: seal on page 1 at (150, 40) mm" placed "$f" 1 150 40 mm
      else check "$alg $doc $level: seal on page 200 at (30, 30) mm" placed "$f" 200 30 30 mm; fi
      verify_accepts "$alg $doc $level" "$f" VALID
    done
  done
done
if [ -f "$WORK/twice.pdf" ]; then
  pdf_ok "stamped twice (P-256, then RSA)" "$WORK/twice.pdf" "$ROOTS" \
    'INTACT:TRUSTED,EXTENDED_WITH_[A-Z_]+,ACCEPTABLE_MODIFICATIONS' "$BB"
  check "stamped twice: pdfsig finds 2 valid signatures" grep -q '^  \[PASS\] pdfsig   2 signature(s)' "$WORK/twice.pdf.validate"
  check "stamped twice: first seal on page 1 at (30, 40) mm" placed "$WORK/twice.pdf" 1 30 40 mm
  check "stamped twice: second seal on page 1 at (300, 100) pt" placed "$WORK/twice.pdf" 1 300 100 pt
  verify_accepts "stamped twice" "$WORK/twice.pdf" 'VALID|VALID_WITH_ALLOWED_LATER_CHANGES'
fi
# inked FILE PAGE X Y W H (mm from the bottom-left): pdftoppm's rendering of that box on PAGE has
# dark pixels (the strokes) but is mostly white (not a raster block).
inked() {
  python3 - "$@" <<'PY'
import subprocess, sys
f, page, x, y, w, h = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:7])
k = 72 / 25.4
box = subprocess.run(["pdfinfo", "-f", page, "-l", page, "-box", f], capture_output=True, text=True).stdout
ph = next(float(l.split()[-1]) for l in box.splitlines() if l.startswith(f"Page {int(page):4d} MediaBox"))
png = subprocess.run(["pdftoppm", "-f", page, "-l", page, "-r", "72", "-gray",
                      "-x", str(round(x * k)), "-y", str(round(ph - (y + h) * k)),
                      "-W", str(round(w * k)), "-H", str(round(h * k)), f], capture_output=True).stdout
head, rest = png.split(b"\n", 1)
dims, rest = rest.split(b"\n", 1)
_, px = rest.split(b"\n", 1)
cw, ch = map(int, dims.split())
dark = sum(1 for b in px[: cw * ch] if b < 128)
print(f"{dark} dark of {cw * ch} pixels")
sys.exit(0 if 0.01 * cw * ch < dark < 0.5 * cw * ch else 1)
PY
}
if [ -f "$HS" ]; then
  pdf_ok "handwritten signature (P-256)" "$HS" "$ROOTS" "$BB"
  check "handwritten signature: pdfsig finds it valid" grep -q '^  \[PASS\] pdfsig' "$HS.validate"
  check "handwritten signature: on page 1 at (30, 40) mm" placed "$HS" 1 30 40 mm
  check "handwritten signature: the strokes render (pdftoppm)" inked "$HS" 1 30 40 60 24
  verify_accepts "handwritten signature" "$HS" VALID
  check "handwritten signature: sidian reports the evidence matched" \
    grep -q '"evidence": *"matched"' "$HS.verify.json"
  "$PY" "$PV/tamper.py" flip "$HS" "$HS-flip.pdf" >/dev/null
  pdf_fails "handwritten signature tampered (flip)" "$HS-flip.pdf" "$ROOTS"
  verify_rejects "handwritten signature tampered (flip)" "$HS-flip.pdf"
fi
if [ -f "$WORK/handsigned-sealed.pdf" ]; then
  pdf_ok "handwritten signature, then a seal" "$WORK/handsigned-sealed.pdf" "$ROOTS" \
    'INTACT:TRUSTED,EXTENDED_WITH_[A-Z_]+,ACCEPTABLE_MODIFICATIONS' "$BB"
  check "handwritten signature, then a seal: pdfsig finds 2 valid signatures" \
    grep -q '^  \[PASS\] pdfsig   2 signature(s)' "$WORK/handsigned-sealed.pdf.validate"
  verify_accepts "handwritten signature, then a seal" "$WORK/handsigned-sealed.pdf" VALID
fi
[ -f "$PHLTV" ] && verify_accepts "sidian seal + pyHanko DSS and /Version" "$PHLTV" VALID_WITH_ALLOWED_LATER_CHANGES
docmdp() { # FILE: the DocMDP level (1-3) of the first signature, or "none"
  "$PY" -c "
import sys
from pyhanko.pdf_utils.reader import PdfFileReader
s = PdfFileReader(open(sys.argv[1], 'rb'), strict=False).embedded_signatures[0]
print(s.docmdp_level.value if s.docmdp_level else 'none')" "$1"
}
if [ -f "$WORK/cross-page.pdf" ]; then
  pdf_ok "cross-page seal (200 pages)" "$WORK/cross-page.pdf" "$ROOTS" "$BT"
  verify_accepts "cross-page seal (200 pages)" "$WORK/cross-page.pdf" VALID
fi
for p in p1 p2; do
  f=$WORK/certify-$p.pdf; [ -f "$f" ] || continue
  pdf_ok "certify=$p" "$f" "$ROOTS" "$BB"
  check "certify=$p: a certification signature with DocMDP P=${p#p}" test "$(docmdp "$f")" = "${p#p}"
  verify_accepts "certify=$p" "$f" VALID
done
if [ -f "$LPDF" ]; then
  pdf_ok "licence PDF (P-256 licence seal, certified)" "$LPDF" "$ROOTS" "$BB"
  check "licence PDF: pdfsig finds the signature valid" grep -q '^  \[PASS\] pdfsig' "$LPDF.validate"
  check "licence PDF: a certification signature with DocMDP P=1" test "$(docmdp "$LPDF")" = 1
  verify_accepts "licence PDF" "$LPDF" VALID
fi
if [ -f "$WORK/cli-p256.pdf" ]; then
  pdf_ok "CLI p256, defaults" "$WORK/cli-p256.pdf" "$ROOTS" "$BB"
  check "CLI p256, defaults: seal on page 1" placed "$WORK/cli-p256.pdf" 1
  verify_accepts "CLI p256, defaults" "$WORK/cli-p256.pdf" VALID
fi
if [ -f "$WORK/cli-rsa-pkcs7.pdf" ]; then
  pdf_ok "CLI rsa2048 pkcs7" "$WORK/cli-rsa-pkcs7.pdf" "$ROOTS" "$BB"
  check "CLI rsa2048 pkcs7: /SubFilter /adbe.pkcs7.detached" grep -q 'Signature Type: adbe.pkcs7.detached' "$WORK/cli-rsa-pkcs7.pdf.validate"
  check "CLI rsa2048 pkcs7: seal on page 3 at (100, 50) pt" placed "$WORK/cli-rsa-pkcs7.pdf" 3 100 50 pt
  verify_accepts "CLI rsa2048 pkcs7" "$WORK/cli-rsa-pkcs7.pdf" VALID
fi
if [ -f "$WORK/cli-p256-pkcs7-bt.pdf" ]; then
  pdf_ok "CLI p256 pkcs7 b-t" "$WORK/cli-p256-pkcs7-bt.pdf" "$ROOTS" "$BT"
  check "CLI p256 pkcs7 b-t: /SubFilter /adbe.pkcs7.detached" grep -q 'Signature Type: adbe.pkcs7.detached' "$WORK/cli-p256-pkcs7-bt.pdf.validate"
  verify_accepts "CLI p256 pkcs7 b-t" "$WORK/cli-p256-pkcs7-bt.pdf" VALID
fi
# SM2/SM3: pyHanko and pdfsig cannot check it; OpenSSL (cms_check.py) and sidian can.
for f in "$WORK/sm2-1p-b-b.pdf" "$WORK/sm2-200p-b-t.pdf" "$WORK/cli-sm2-certify.pdf"; do
  [ -f "$f" ] || continue
  n=$(basename "$f" .pdf)
  cms_ok "$n" "$f"
  verify_accepts "$n" "$f" VALID
done
[ -f "$WORK/cli-sm2-certify.pdf" ] && check "cli-sm2-certify: DocMDP P=2" test "$(docmdp "$WORK/cli-sm2-certify.pdf")" = 2

# Tampered copies: a byte flipped inside the signed range; an incremental update that changes the page.
for src in p256-1p-b-b rsa2048-200p-b-t twice; do
  [ -f "$WORK/$src.pdf" ] || continue
  for t in flip incr; do
    f=$WORK/$src-$t.pdf
    "$PY" "$PV/tamper.py" "$t" "$WORK/$src.pdf" "$f" >/dev/null
    pdf_fails "$src tampered ($t)" "$f" "$ROOTS"
    verify_rejects "$src tampered ($t)" "$f"
  done
done
for t in flip incr; do
  [ -f "$WORK/sm2-1p-b-b.pdf" ] || continue
  f=$WORK/sm2-1p-b-b-$t.pdf
  "$PY" "$PV/tamper.py" "$t" "$WORK/sm2-1p-b-b.pdf" "$f" >/dev/null
  if "$PY" "$PV/cms_check.py" "$f" "$WORK/trust-all.pem" >"$f.cms" 2>&1; then bad "sm2 tampered ($t): cms_check.py passes it"; else ok "sm2 tampered ($t): cms_check.py FAIL"; fi
  verify_rejects "sm2 tampered ($t)" "$f"
done
# ---- Part 3: hostile PDFs against the running server (docs/threats.md §3.2) ----
# A 1 GiB decompression bomb, a /Pages cycle and a 20,000-deep array: each must be INVALID within
# 2 s, the server's peak memory must stay under 256 MB, and it must go on serving.
python3 tools/hostile_pdfs.py "$WORK/hostile"
"$BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT" "${DBARGS[@]}" >"$WORK/serve2.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
for h in bomb cycle deep; do
  out=$(curl -s -o "$WORK/hostile/$h.json" -w '%{http_code} %{time_total}' -H 'Content-Type: application/pdf' \
        --data-binary @"$WORK/hostile/$h.pdf" "http://127.0.0.1:$PORT/v1/documents/verify")
  code=${out% *}; secs=${out#* }
  verdict=$(json "['verdict']" <"$WORK/hostile/$h.json" 2>/dev/null || echo "?")
  if [ "$code" = 200 ] && [ "$verdict" = INVALID ] && python3 -c "import sys; sys.exit(0 if float('$secs') < 2 else 1)"; then
    ok "hostile $h.pdf: INVALID in ${secs}s"
  else
    bad "hostile $h.pdf: HTTP $code, verdict $verdict, ${secs}s: $(head -c 300 "$WORK/hostile/$h.json")"
  fi
done
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
check "server peak memory ${hwm} kB < 256 MB after the hostile PDFs" test "$hwm" -lt 262144
check "server still answers /healthz" curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz"
kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
summary
