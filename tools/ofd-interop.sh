#!/usr/bin/env bash
# OFD written by sidian, read by a reader nobody here wrote: examples/ofd_sample.rs writes a
# three-page OFD (Chinese text in the embedded font subset, a PNG picture, a rule, a template, a
# custom tag) and prints where it put each thing; easyofd (tools/ofd-interop/requirements.txt,
# installed into <repo>/target/ofd-tools/venv) converts it to PDF with reportlab. Then poppler:
#   pdfinfo    the PDF has the three pages;
#   pdffonts   the text is drawn with the font the OFD embeds (NotoSerifSC-Bold), not a system one;
#   pdftotext  every page's Chinese text comes back, line by line;
#   pdftoppm   page 1 rendered, and tools/ofd-interop/check.py finds ink in every text box, the
#              picture's colours in its rectangle, the rule, and white everywhere else.
# The checker is itself checked first: page 1 against page 2's layout (no picture, no rule) must fail.
# Then the same OFD is sealed through `POST /v1/seals/{id}/stamp` (a server on a scratch data dir),
# easyofd converts the sealed package (it draws the seal picture it finds in SignedValue.dat at
# the StampAnnot's Boundary), and tools/ofd-interop/check_seal.py finds the seal's red ink exactly
# where it was asked; it must refuse the same page checked against a place 30 mm off.
# The sealed OFD is then signed by hand (`POST /v1/signers/{id}/sign`): easyofd draws the
# handwriting's picture, check_seal.py (`hand`) finds its ink inside the asked box and refuses a box
# 40 mm off, and sidian verifies the seal and the handwritten signature as VALID.
# Last, a licence is issued through the API (the 营业执照 sample) and its file fetched
# (`GET /v1/licences/{id}/file`): easyofd converts it, pdftotext finds the title, the holder's
# name and the issuer, zbarimg decodes the QR code on the page rendered by pdftoppm to the
# licence's verify_url, and check_seal.py finds the issuer's seal centred on the layout's seal place.
#
# usage: tools/ofd-interop.sh      (poppler-utils and python3-venv are apt-installed if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
HERE=$ROOT/tools/ofd-interop
VENV=$ROOT/target/ofd-tools/venv
REQ=$HERE/requirements.txt
need() { command -v "$1" >/dev/null 2>&1; }

pkgs=()
for c in pdftotext pdftoppm pdffonts pdfinfo; do need "$c" || pkgs=(poppler-utils); done
need zbarimg || pkgs+=(zbar-tools)
need python3 || pkgs+=(python3)
{ need python3 && python3 -c 'import ensurepip, venv' 2>/dev/null; } || pkgs+=(python3-venv)
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "ofd-interop: apt-get install ${pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

# shellcheck source=tools/venv.sh
. "$ROOT/tools/venv.sh"
python_venv ofd-interop "$VENV" "$REQ" easyofd.draw easyofd.parser_ofd PIL
PY=$VENV/bin/python

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT   # replaced once the server runs
pass=0; fail=0
ok()   { echo "ok   $*"; pass=$((pass+1)); }
bad()  { echo "FAIL $*"; fail=$((fail+1)); }
indent() { sed 's/^/       | /' "$@"; }
summary() { echo "ofd-interop: $pass passed, $fail failed"; [ "$fail" = 0 ]; }

cargo run --quiet --example ofd_sample -- "$WORK/sample.ofd" >"$WORK/layout.json"
ok "examples/ofd_sample wrote $(stat -c %s "$WORK/sample.ofd") bytes"
# easyofd unpacks the package (and the fonts it registers) into the current directory.
if (cd "$WORK" && "$PY" "$HERE/convert.py" sample.ofd sample.pdf) >"$WORK/easyofd.log" 2>&1; then
  ok "easyofd converts it to PDF"
else
  bad "easyofd: conversion failed"; indent "$WORK/easyofd.log"; summary; exit 1
fi
PDF=$WORK/sample.pdf

pages=$(pdfinfo "$PDF" | sed -n 's/^Pages: *//p')
if [ "$pages" = 3 ]; then ok "pdfinfo: 3 pages"; else bad "pdfinfo: $pages pages, expected 3"; fi
if pdffonts "$PDF" | grep -Eq '^[A-Z]{6}\+NotoSerifSC-Bold +TrueType .* yes +yes +yes'; then
  ok "pdffonts: the text is set in the embedded NotoSerifSC-Bold (subset, with ToUnicode)"
else bad "pdffonts: no embedded NotoSerifSC-Bold"; pdffonts "$PDF" | indent; fi
for n in 1 2 3; do
  pdftotext -f "$n" -l "$n" -layout "$PDF" "$WORK/p$n.txt"
  missing=()
  for want in 行政许可决定书 某某有限公司： 经审查，你单位提交的申请材料齐全、符合法定形式， \
              《中华人民共和国行政许可法》第三十八条第一款 的规定，决定准予行政许可。 "第${n}页"; do
    grep -qF -- "$want" "$WORK/p$n.txt" || missing+=("$want")
  done
  if [ ${#missing[@]} = 0 ]; then ok "pdftotext page $n: the Chinese text is there"
  else bad "pdftotext page $n: missing ${missing[*]}"; indent "$WORK/p$n.txt"; fi
done

pdftoppm -png -r 50 -f 1 -l 1 -singlefile "$PDF" "$WORK/page1"
if "$PY" "$HERE/check.py" "$WORK/page1.png" "$WORK/layout.json" 1 >"$WORK/self-check.txt"; then
  bad "check.py accepts page 1 against page 2's layout: it cannot see a misplaced object"
  indent "$WORK/self-check.txt"
else ok "check.py refuses page 1 against page 2's layout"; fi
if "$PY" "$HERE/check.py" "$WORK/page1.png" "$WORK/layout.json" 0 >"$WORK/check.txt"; then
  ok "pdftoppm page 1: everything where the model put it ($(grep -c '^ok' "$WORK/check.txt") checks)"
else bad "pdftoppm page 1"; indent "$WORK/check.txt"; fi

# ---- The same OFD sealed by sidian's API: easyofd draws the seal's picture where it was asked ----
BIN=${SIDIAN_BIN:-target/debug/sidian}
[ -x "$BIN" ] || cargo build --quiet --bin sidian
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --data "$WORK/data" --listen "127.0.0.1:$PORT" --public-url "http://127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
KEY=$("$BIN" client add ofd-interop --data "$WORK/data" | tail -n 1)
SEAL=$(curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/v1/seals" \
  -d '{"name":"某某市市场监督管理局行政审批专用章","type":"official","holder":{"name":"某某市市场监督管理局","uscc":"11100000000013338W"}}' \
  | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
AT_X=120; AT_Y=200
curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/ofd' --data-binary @"$WORK/sample.ofd" \
  "http://127.0.0.1:$PORT/v1/seals/$SEAL/stamp?page=1&x=$AT_X&y=$AT_Y" -o "$WORK/sealed.ofd" -w '%{http_code}' >"$WORK/status"
if [ "$(cat "$WORK/status")" = 200 ]; then ok "POST /v1/seals/{id}/stamp?page=1&x=$AT_X&y=$AT_Y seals it"; else bad "stamp: HTTP $(cat "$WORK/status")"; fi
if (cd "$WORK" && "$PY" "$HERE/convert.py" sealed.ofd sealed.pdf) >"$WORK/easyofd-sealed.log" 2>&1; then
  ok "easyofd converts the sealed OFD to PDF"
else bad "easyofd: conversion of the sealed OFD failed"; indent "$WORK/easyofd-sealed.log"; fi
pdftoppm -png -r 100 -f 1 -l 1 -singlefile "$WORK/sealed.pdf" "$WORK/sealed1"
if "$PY" "$HERE/check_seal.py" "$WORK/sealed1.png" "$WORK/sealed.ofd" "$AT_X" "$AT_Y" >"$WORK/seal-check.txt"; then
  ok "pdftoppm page 1: $(sed -n "1s/^ok *//p" "$WORK/seal-check.txt")"
else bad "the seal's picture"; indent "$WORK/seal-check.txt"; fi
# The checker must see a seal that is not where it was asked.
if "$PY" "$HERE/check_seal.py" "$WORK/sealed1.png" "$WORK/sealed.ofd" "$AT_X" $((AT_Y - 30)) >/dev/null; then
  bad "check_seal.py accepts a seal 30 mm from where it was asked"
else ok "check_seal.py refuses a seal 30 mm from where it was asked"; fi

# ---- The sealed OFD signed by hand: easyofd draws the handwriting's picture where it was asked ----
"$PY" - "$WORK/capture.json" <<'PY'
import json, math, sys
pts = [{"x": 60 + 3.5 * i, "y": 100 + 50 * math.sin(i / 9), "t_ms": 6 * i, "pressure": 0.5} for i in range(130)]
json.dump({"canvas": {"width": 600, "height": 200, "dpi": 96}, "device": "ofd-interop",
           "consent": "本人同意签署。", "strokes": [pts]}, open(sys.argv[1], "w"), ensure_ascii=False)
PY
SIGNER=$(curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/v1/signers" \
  -d '{"name":"张三","id_type":"resident_id","id_number":"11010519491231002X","phone":"13800138000","verified_by":"counter"}' \
  | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
HX=30; HY=230
curl -s -H "Authorization: Bearer $KEY" -F "document=@$WORK/sealed.ofd;type=application/ofd" \
  -F "capture=@$WORK/capture.json;type=application/json" \
  -F "placement={\"page\":1,\"x\":$HX,\"y\":$HY,\"width\":60,\"height\":24};type=application/json" \
  "http://127.0.0.1:$PORT/v1/signers/$SIGNER/sign" -o "$WORK/handsigned.ofd" -w '%{http_code}' >"$WORK/status"
if [ "$(cat "$WORK/status")" = 200 ]; then ok "POST /v1/signers/{id}/sign signs the sealed OFD by hand"; else bad "handwritten OFD: HTTP $(cat "$WORK/status")"; fi
if (cd "$WORK" && "$PY" "$HERE/convert.py" handsigned.ofd handsigned.pdf) >"$WORK/easyofd-hand.log" 2>&1; then
  ok "easyofd converts the OFD signed by hand to PDF"
else bad "easyofd: conversion of the OFD signed by hand failed"; indent "$WORK/easyofd-hand.log"; fi
pdftoppm -png -r 100 -f 1 -l 1 -singlefile "$WORK/handsigned.pdf" "$WORK/hand1"
if "$PY" "$HERE/check_seal.py" "$WORK/hand1.png" "$WORK/handsigned.ofd" "$HX" "$HY" hand >"$WORK/hand-check.txt"; then
  ok "pdftoppm page 1: $(sed -n "1s/^ok *//p" "$WORK/hand-check.txt")"
else bad "the handwriting's picture"; indent "$WORK/hand-check.txt"; fi
if "$PY" "$HERE/check_seal.py" "$WORK/hand1.png" "$WORK/handsigned.ofd" "$HX" $((HY - 40)) hand >/dev/null; then
  bad "check_seal.py accepts handwriting 40 mm from where it was asked"
else ok "check_seal.py refuses handwriting 40 mm from where it was asked"; fi
curl -s -H 'Content-Type: application/ofd' --data-binary @"$WORK/handsigned.ofd" \
  "http://127.0.0.1:$PORT/v1/documents/verify" >"$WORK/hand-report.json"
if "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); k=[s["kind"] for s in r["signatures"]]; sys.exit(0 if r["verdict"]=="VALID" and k==["ses-v4","ses-handwritten"] else 1)' "$WORK/hand-report.json"; then
  ok "sidian verifies the sealed OFD signed by hand: VALID, the seal and the handwritten signature"
else bad "verification of the OFD signed by hand"; indent "$WORK/hand-report.json"; fi

# ---- A licence's file: issued through the API, fetched, read by easyofd and zbar ----
BUSINESS=111000009000000146001
SAMPLE=tests/data/licences/$BUSINESS.json
ISSUER=$("$BIN" issuer add 济南市市场监督管理局 --uscc 11370100004312345D --data "$WORK/data" | tail -n 1)
LKEY=$("$BIN" client add licence-interop --scope licence:issue --issuer "$ISSUER" --data "$WORK/data" | tail -n 1)
LH=(-H "Authorization: Bearer $LKEY")
curl -s "${LH[@]}" -H 'Content-Type: application/json' -H 'Idempotency-Key: ofd-interop-1' \
  --data-binary @"$SAMPLE" "http://127.0.0.1:$PORT/v1/licences" -o "$WORK/licence.json" -w '%{http_code}' >"$WORK/status"
if [ "$(cat "$WORK/status")" = 201 ]; then ok "POST /v1/licences issues the 营业执照 sample"
else bad "issue: HTTP $(cat "$WORK/status")"; indent "$WORK/licence.json"; summary; exit 1; fi
LID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/licence.json")
VERIFY_URL=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["verify_url"])' "$WORK/licence.json")
HOLDER=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["holder"]["name"])' "$SAMPLE")
curl -s "${LH[@]}" "http://127.0.0.1:$PORT/v1/licences/$LID/file" -o "$WORK/licence.ofd" -w '%{http_code} %{content_type}' >"$WORK/status"
if [ "$(cat "$WORK/status")" = "200 application/ofd" ]; then ok "GET /v1/licences/{id}/file answers the OFD ($(stat -c %s "$WORK/licence.ofd") bytes)"
else bad "licence file: $(cat "$WORK/status")"; fi
if (cd "$WORK" && "$PY" "$HERE/convert.py" licence.ofd licence.pdf) >"$WORK/easyofd-licence.log" 2>&1; then
  ok "easyofd converts the licence OFD to PDF"
else bad "easyofd: conversion of the licence OFD failed"; indent "$WORK/easyofd-licence.log"; fi
pdftotext -layout "$WORK/licence.pdf" "$WORK/licence.txt"
missing=()
for want in 营业执照 "$HOLDER" 统一社会信用代码 经营范围 济南市市场监督管理局; do
  grep -qF -- "$want" "$WORK/licence.txt" || missing+=("$want")
done
if [ ${#missing[@]} = 0 ]; then ok "pdftotext: the title, the holder's name ($HOLDER), labels and the issuer are there"
else bad "pdftotext: missing ${missing[*]}"; indent "$WORK/licence.txt"; fi
pdftoppm -png -r 200 -f 1 -l 1 -singlefile "$WORK/licence.pdf" "$WORK/licence1"
if zbarimg --quiet --raw "$WORK/licence1.png" >"$WORK/qr.txt" 2>"$WORK/zbar.log" && [ "$(cat "$WORK/qr.txt")" = "$VERIFY_URL" ]; then
  ok "zbarimg decodes the QR code to the verify_url ($VERIFY_URL)"
else bad "zbarimg: expected $VERIFY_URL"; indent "$WORK/qr.txt" "$WORK/zbar.log"; fi
# The seal is centred on the layout's seal place: its top-left corner is half the drawn size
# (the StampAnnot's Boundary) up and left of it.
curl -s "http://127.0.0.1:$PORT/v1/licence-types/$BUSINESS" -o "$WORK/type.json"
read -r SEAL_X SEAL_Y < <("$PY" - "$WORK/type.json" "$WORK/licence.ofd" <<'PYEOF'
import json, re, sys, zipfile, xml.etree.ElementTree as ET
seal = json.load(open(sys.argv[1]))["layout"]["seal"]
z = zipfile.ZipFile(sys.argv[2])
sign = sorted(n for n in z.namelist() if re.fullmatch(r"Doc_0/Signs/Sign_\d+/Signature\.xml", n))[-1]
annot = ET.fromstring(z.read(sign)).find(".//{http://www.ofdspec.org/2016}StampAnnot")
w, h = [float(v) for v in annot.get("Boundary").split()[2:]]
print(f"{seal['x'] - w / 2:g} {seal['y'] - h / 2:g}")
PYEOF
)
if "$PY" "$HERE/check_seal.py" "$WORK/licence1.png" "$WORK/licence.ofd" "$SEAL_X" "$SEAL_Y" >"$WORK/licence-seal.txt"; then
  ok "pdftoppm licence page 1: $(sed -n "1s/^ok *//p" "$WORK/licence-seal.txt")"
else bad "the licence seal's picture"; indent "$WORK/licence-seal.txt"; fi
summary
