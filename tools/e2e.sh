#!/usr/bin/env bash
# End-to-end check of the release binary, as an outside checker runs it: serve, register
# clients, create keys of every type through the API, sign "message digest", verify every
# signature with the OpenSSL CLI, check client isolation, then tamper with the audit log and
# expect `sidian audit verify` to fail.
#
# usage: tools/e2e.sh [DATABASE_URL]     (default: the embedded SQLite file)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SIDIAN_BIN:-target/release/sidian}
[ -x "$BIN" ] || cargo build --release --quiet
DB_URL=${1:-}
WORK=$(mktemp -d)
DATA=$WORK/data
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
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

"$BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT" "${DBARGS[@]}" >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && ok "healthz" || bad "healthz"
grep -q "listening on http://127.0.0.1:$PORT" "$WORK/serve.log" && ok "prints its address" || bad "prints its address"

A=$("$BIN" client add system-a --data "$DATA" "${DBARGS[@]}" | tail -n 1)
B=$("$BIN" client add system-b --data "$DATA" "${DBARGS[@]}" | tail -n 1)
api() { local key=$1 path=$2; shift 2; curl -s -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "http://127.0.0.1:$PORT$path" "$@"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

printf 'message digest' > "$WORK/msg"
MSG64=$(base64 -w0 < "$WORK/msg")
for alg in sm2 p256 ed25519 rsa2048 rsa3072; do
  K=$(api "$A" /v1/keys -d "{\"alg\":\"$alg\"}")
  ID=$(echo "$K" | json "['id']")
  echo "$K" | json "['public_key_pem']" > "$WORK/$alg.pem"
  api "$A" "/v1/keys/$ID/sign" -d "{\"data\":\"$MSG64\"}" | json "['signature']" | base64 -d > "$WORK/$alg.sig"
  case $alg in
    sm2) V=(pkeyutl -verify -pubin -inkey "$WORK/$alg.pem" -rawin -digest sm3 -in "$WORK/msg" -sigfile "$WORK/$alg.sig" -pkeyopt distid:1234567812345678) ;;
    ed25519) V=(pkeyutl -verify -pubin -inkey "$WORK/$alg.pem" -rawin -in "$WORK/msg" -sigfile "$WORK/$alg.sig") ;;
    *) V=(dgst -sha256 -verify "$WORK/$alg.pem" -signature "$WORK/$alg.sig" "$WORK/msg") ;;
  esac
  openssl "${V[@]}" >/dev/null 2>&1 && ok "openssl verifies $alg" || bad "openssl verifies $alg"
  [ "$alg" = sm2 ] && SM2_ID=$ID
done
code() { api "$@" -o /dev/null -w '%{http_code}'; }
[ "$(code "$B" "/v1/keys/$SM2_ID")" = 404 ] && ok "B cannot read A's key" || bad "B cannot read A's key"
[ "$(code "$B" "/v1/keys/$SM2_ID/sign" -d "{\"data\":\"$MSG64\"}")" = 404 ] && ok "B cannot sign with A's key" || bad "B cannot sign with A's key"
[ "$(code "$B" "/v1/keys/$SM2_ID/disable" -X POST)" = 404 ] && ok "B cannot disable A's key" || bad "B cannot disable A's key"
[ "$(api "$A" "/v1/keys/$SM2_ID" | json "['status']")" = active ] && ok "A's key still active" || bad "A's key still active"

# ---- Electronic seals: OpenSSL alone checks what sidian made ----
# Top-level element N (1-based) of a DER file: "offset header_length length".
elem() { openssl asn1parse -inform DER -in "$1" | sed -nE 's/^ *([0-9]+):d=1 +hl= *([0-9]+) +l= *([0-9]+) .*/\1 \2 \3/p' | sed -n "$2p"; }
slice() { dd if="$1" of="$2" bs=1 skip="$3" count="$4" status=none; }
# The whole TLV of element N, and the contents of a BIT STRING element N without its unused-bits byte.
tlv() { read -r off hl len < <(elem "$1" "$2"); slice "$1" "$3" "$off" $((hl + len)); }
bits() { read -r off hl len < <(elem "$1" "$2"); slice "$1" "$3" $((off + hl + 1)) $((len - 1)); }
hex() { od -An -v -tx1 | tr -d ' \n'; }
octets_as_cert_pubkey() { read -r off _ _ < <(elem "$1" "$2"); openssl asn1parse -inform DER -in "$1" -strparse "$off" -noout -out "$3.der" && openssl x509 -inform DER -in "$3.der" -pubkey -noout > "$3"; }
SEAL=$(api "$A" /v1/seals -d '{"name":"某某市市场监督管理局合同专用章","type":"contract","holder":{"name":"某某市市场监督管理局","uscc":"11100000000013338W"},"valid_from":"2020-01-01","valid_to":"2030-12-31"}')
SEAL_ID=$(echo "$SEAL" | json "['id']")
echo "$SEAL" | json "['seal']" | base64 -d > "$WORK/seal.der"
echo "$SEAL" | json "['cert_pem']" > "$WORK/holder.pem"
openssl asn1parse -inform DER -in "$WORK/seal.der" >/dev/null && ok "openssl asn1parse decodes the SESeal" || bad "openssl asn1parse decodes the SESeal"
tlv "$WORK/seal.der" 1 "$WORK/sealinfo.der"; bits "$WORK/seal.der" 4 "$WORK/maker.sig"; octets_as_cert_pubkey "$WORK/seal.der" 2 "$WORK/maker.pub"
openssl pkeyutl -verify -pubin -inkey "$WORK/maker.pub" -rawin -digest sm3 -in "$WORK/sealinfo.der" -sigfile "$WORK/maker.sig" -pkeyopt distid:1234567812345678 >/dev/null 2>&1 \
  && ok "openssl verifies the maker signature over SES_SealInfo" || bad "openssl verifies the maker signature over SES_SealInfo"
SIG=$(api "$A" "/v1/seals/$SEAL_ID/sign" -d "{\"data\":\"$MSG64\",\"property_info\":\"msg\"}" | json "['signature']")
echo "$SIG" | base64 -d > "$WORK/sessig.der"
openssl asn1parse -inform DER -in "$WORK/sessig.der" >/dev/null && ok "openssl asn1parse decodes the SES_Signature" || bad "openssl asn1parse decodes the SES_Signature"
tlv "$WORK/sessig.der" 1 "$WORK/tbs.der"; bits "$WORK/sessig.der" 4 "$WORK/signer.sig"; octets_as_cert_pubkey "$WORK/sessig.der" 2 "$WORK/signer.pub"
openssl pkeyutl -verify -pubin -inkey "$WORK/signer.pub" -rawin -digest sm3 -in "$WORK/tbs.der" -sigfile "$WORK/signer.sig" -pkeyopt distid:1234567812345678 >/dev/null 2>&1 \
  && ok "openssl verifies the signer signature over TBS_Sign" || bad "openssl verifies the signer signature over TBS_Sign"
"$BIN" trust export --data "$DATA" "${DBARGS[@]}" > "$WORK/roots.pem"
curl -s -H 'Accept: application/x-pem-file' "http://127.0.0.1:$PORT/v1/trust-list" > "$WORK/trust.pem"
openssl verify -CAfile "$WORK/roots.pem" -vfyopt distid:1234567812345678 "$WORK/holder.pem" >/dev/null 2>&1 \
  && ok "openssl verify accepts the SM2 holder certificate against sidian trust export" || bad "openssl verify accepts the SM2 holder certificate"
openssl ts -query -data "$WORK/msg" -sha256 -cert -out "$WORK/q.tsq" 2>/dev/null
curl -s -H "Authorization: Bearer $A" -H 'Content-Type: application/timestamp-query' --data-binary @"$WORK/q.tsq" "http://127.0.0.1:$PORT/v1/tsa" -o "$WORK/r.tsr"
openssl ts -verify -data "$WORK/msg" -in "$WORK/r.tsr" -CAfile "$WORK/roots.pem" >/dev/null 2>&1 \
  && ok "openssl ts -verify accepts a token from /v1/tsa" || bad "openssl ts -verify accepts a token from /v1/tsa"
P256=$(api "$A" /v1/seals -d '{"name":"某某公司","holder":{"name":"某某公司","uscc":"91370406L24894136J"},"alg":"p256"}')
echo "$P256" | json "['cert_pem']" > "$WORK/holder-p256.pem"
openssl verify -CAfile "$WORK/roots.pem" "$WORK/holder-p256.pem" >/dev/null 2>&1 \
  && ok "openssl verify accepts the P-256 holder certificate" || bad "openssl verify accepts the P-256 holder certificate"
# ---- OFD sealed by sidian (API, then CLI on top), every number checked with OpenSSL ----
OFD_SEAL=$(api "$A" /v1/seals -d '{"name":"某某市市场监督管理局行政审批专用章","type":"official","holder":{"name":"某某市市场监督管理局","uscc":"11100000000013338W"}}' | json "['id']")
curl -s -H "Authorization: Bearer $A" -H 'Content-Type: application/ofd' --data-binary @tests/data/ofd/sample-3p.ofd \
  "http://127.0.0.1:$PORT/v1/seals/$OFD_SEAL/stamp?page=1&x=120&y=200" -o "$WORK/api.ofd" -w '%{http_code} %{content_type}\n' > "$WORK/stamp.status"
[ "$(cat "$WORK/stamp.status")" = "200 application/ofd" ] && ok "POST /v1/seals/{id}/stamp seals an OFD" || bad "OFD stamp via the API: $(cat "$WORK/stamp.status")"
"$BIN" stamp --data "$DATA" "${DBARGS[@]}" --seal "$OFD_SEAL" --cross-page "$WORK/api.ofd" "$WORK/two.ofd" >/dev/null \
  && ok "sidian stamp adds a 骑缝章 to the sealed OFD" || bad "sidian stamp on an OFD"
"$BIN" stamp --data "$DATA" "${DBARGS[@]}" --seal "$OFD_SEAL" --keyword 行政许可决定书 --page 1 tests/data/ofd/sample-3p.ofd "$WORK/cli.ofd" >/dev/null \
  && ok "sidian stamp seals an OFD on a keyword" || bad "sidian stamp --keyword on an OFD"
for f in api two cli; do
  "$BIN" verify --data "$DATA" "${DBARGS[@]}" "$WORK/$f.ofd" > "$WORK/$f.json" || true
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); n={'api':1,'two':2,'cli':1}[sys.argv[2]]; assert r['verdict']=='VALID' and len(r['signatures'])==n, r['verdict']" "$WORK/$f.json" "$f" \
    && ok "sidian verify $f.ofd: VALID" || bad "sidian verify $f.ofd: $(json "['verdict']" < "$WORK/$f.json")"
done
# Unpack two.ofd and check each signature as an outsider: SignedValue.dat is an SES_Signature
# (TBS_Sign, cert, signatureAlgorithm, signature); TBS_Sign holds the SESeal and dataHash.
python3 -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$WORK/two.ofd" "$WORK/two"
signs=0
for dir in "$WORK"/two/Doc_0/Signs/Sign_*; do
  n=${dir##*/}; signs=$((signs+1)); sv=$dir/SignedValue.dat
  tlv "$sv" 1 "$WORK/$n.tbs"; bits "$sv" 4 "$WORK/$n.sig"; octets_as_cert_pubkey "$sv" 2 "$WORK/$n.signer.pub"
  openssl pkeyutl -verify -pubin -inkey "$WORK/$n.signer.pub" -rawin -digest sm3 -in "$WORK/$n.tbs" -sigfile "$WORK/$n.sig" -pkeyopt distid:1234567812345678 >/dev/null 2>&1 \
    && ok "$n: openssl verifies the signer signature over TBS_Sign" || bad "$n: signer signature"
  tlv "$WORK/$n.tbs" 2 "$WORK/$n.seal"
  cmp -s "$WORK/$n.seal" "$dir/Seal.esl" && ok "$n: Seal.esl is the SESeal inside the signature" || bad "$n: Seal.esl differs from the signed SESeal"
  tlv "$WORK/$n.seal" 1 "$WORK/$n.sealinfo"; bits "$WORK/$n.seal" 4 "$WORK/$n.maker.sig"; octets_as_cert_pubkey "$WORK/$n.seal" 2 "$WORK/$n.maker.pub"
  openssl pkeyutl -verify -pubin -inkey "$WORK/$n.maker.pub" -rawin -digest sm3 -in "$WORK/$n.sealinfo" -sigfile "$WORK/$n.maker.sig" -pkeyopt distid:1234567812345678 >/dev/null 2>&1 \
    && ok "$n: openssl verifies the maker signature over SES_SealInfo" || bad "$n: maker signature"
  bits "$WORK/$n.tbs" 4 "$WORK/$n.hash"
  [ "$(hex < "$WORK/$n.hash")" = "$(openssl dgst -sm3 -binary "$dir/Signature.xml" | hex)" ] \
    && ok "$n: dataHash = SM3(Signature.xml)" || bad "$n: dataHash is not SM3(Signature.xml)"
  refs=0; wrong=0
  while read -r file want; do
    refs=$((refs+1))
    [ "$(openssl dgst -sm3 -binary "$WORK/two/$file" | base64 -w0)" = "$want" ] || { wrong=$((wrong+1)); echo "     CheckValue of $file differs"; }
  done < <(python3 -c '
import sys, xml.etree.ElementTree as ET
for r in ET.parse(sys.argv[1]).iter("{http://www.ofdspec.org/2016}Reference"):
    print(r.get("FileRef").lstrip("/"), r.findtext("{http://www.ofdspec.org/2016}CheckValue").strip())' "$dir/Signature.xml")
  [ "$refs" -gt 10 ] && [ "$wrong" = 0 ] && ok "$n: all $refs CheckValues = SM3 of their files (openssl dgst -sm3)" || bad "$n: $wrong of $refs CheckValues wrong"
done
[ "$signs" = 2 ] && ok "two.ofd has two signature folders" || bad "two.ofd has $signs signature folders"
[ "$(code "$B" "/v1/seals/$SEAL_ID/sign" -d "{\"data\":\"$MSG64\"}")" = 404 ] && ok "B cannot seal with A's seal" || bad "B cannot seal with A's seal"
VERDICT=$(curl -s -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/v1/ses/verify" -d "{\"signature\":\"$SIG\",\"data\":\"$MSG64\"}" | json "['verdict']")
[ "$VERDICT" = VALID ] && ok "sidian verifies its SES signature: VALID" || bad "SES signature verdict $VERDICT"
[ "$(code "$A" "/v1/seals/$SEAL_ID/revoke" -d '{"reason":"lost"}')" = 200 ] && ok "A revokes the seal" || bad "A revokes the seal"
[ "$(code "$A" "/v1/seals/$SEAL_ID/sign" -d "{\"data\":\"$MSG64\"}")" = 409 ] && ok "a revoked seal cannot sign" || bad "a revoked seal cannot sign"
curl -s "http://127.0.0.1:$PORT/v1/pki/crl/sm2-issuing" > "$WORK/crl.der"
SERIAL=$(openssl x509 -in "$WORK/holder.pem" -noout -serial | cut -d= -f2)
openssl crl -inform DER -in "$WORK/crl.der" -noout -text | tr -d ' :' | grep -qi "SerialNumber$SERIAL" \
  && ok "the CRL lists the revoked holder certificate" || bad "the CRL lists the revoked holder certificate"
cp tests/data/ses/v4signed.ofd "$WORK/v4signed.ofd"
if "$BIN" verify --data "$DATA" "${DBARGS[@]}" "$WORK/v4signed.ofd" > "$WORK/ofd.json"; then bad "third-party OFD is not trusted by default"; else
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['verdict']=='UNTRUSTED' and all(s['intact'] for s in r['signatures'])" "$WORK/ofd.json" \
    && ok "sidian verify: v4signed.ofd intact, UNTRUSTED (exit 1)" || bad "sidian verify v4signed.ofd report"; fi

# ---- The witness: checkpoints that leave the machine ----
"$BIN" audit watch "http://127.0.0.1:$PORT" --state "$WORK/witness.json" --key "$DATA/audit-key.pem" --once >/dev/null \
  && ok "audit watch pins a checkpoint" || bad "audit watch pins a checkpoint"
"$BIN" client add system-c --data "$DATA" "${DBARGS[@]}" >/dev/null # the CLI signs a checkpoint at once
"$BIN" audit watch "http://127.0.0.1:$PORT" --state "$WORK/witness.json" --once | grep -q consistent \
  && ok "audit watch checks a consistency proof" || bad "audit watch checks a consistency proof"
curl -s "http://127.0.0.1:$PORT/v1/audit/checkpoint" > "$WORK/checkpoint.json"
curl -s -H 'Accept: text/plain' "http://127.0.0.1:$PORT/v1/audit/checkpoint" | grep -q "^— sidian/audit/" \
  && ok "the checkpoint is a signed note" || bad "the checkpoint is a signed note"

kill -TERM "$SERVER"
for _ in $(seq 100); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SERVER" 2>/dev/null; then bad "graceful shutdown on SIGTERM within 10 s"; kill -KILL "$SERVER"; else ok "graceful shutdown on SIGTERM"; fi
wait "$SERVER" 2>/dev/null || true; SERVER=
grep -q "stopped" "$WORK/serve.log" && ok "final checkpoint written before exit" || bad "final checkpoint written before exit"
"$BIN" audit verify --data "$DATA" "${DBARGS[@]}" && ok "audit verify passes on the intact log" || bad "audit verify on the intact log"
"$BIN" audit verify --data "$DATA" "${DBARGS[@]}" --against "$WORK/checkpoint.json" >/dev/null \
  && ok "the log extends the saved checkpoint" || bad "the log extends the saved checkpoint"

# The vault's own connections cannot change the log: SQLite's triggers, PostgreSQL's role.
if [ -z "$DB_URL" ]; then
  if python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2])" "$DATA/sidian.db" \
      "UPDATE audit_entries SET actor = 'client:someone-else' WHERE idx = 3" 2>"$WORK/refused.txt"; then
    bad "the audit tables refuse UPDATE (SQLite triggers)"
  else grep -q 'append-only' "$WORK/refused.txt" && ok "the audit tables refuse UPDATE (SQLite triggers)" || bad "the audit tables refuse UPDATE (SQLite triggers)"; fi
else
  if psql -q "$DB_URL" -c "SET ROLE sidian_service" -c "DELETE FROM audit_entries" 2>"$WORK/refused.txt"; then
    bad "the role sidian_service cannot DELETE audit entries"
  else grep -q 'permission denied' "$WORK/refused.txt" && ok "the role sidian_service cannot DELETE audit entries" || bad "the role sidian_service cannot DELETE audit entries"; fi
fi
# Tamper as the database's owner (on SQLite: whoever can write the file drops the triggers):
# edit one row, then (on a fresh copy of the state) delete the last one.
sql() {
  if [ -z "$DB_URL" ]; then python3 -c "import sqlite3,sys
c = sqlite3.connect(sys.argv[1])
for (t,) in c.execute(\"SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%append_only%'\").fetchall():
    c.execute('DROP TRIGGER ' + t)
c.execute(sys.argv[2]); c.commit()" "$DATA/sidian.db" "$1";
  else psql -q "$DB_URL" -c "$1"; fi
}
if [ -z "$DB_URL" ]; then cp "$DATA/sidian.db" "$WORK/pristine.db"; fi
sql "UPDATE audit_entries SET actor = 'client:someone-else' WHERE idx = 3"
if "$BIN" audit verify --data "$DATA" "${DBARGS[@]}"; then bad "edited row detected"; else ok "edited row detected"; fi
sql "UPDATE audit_entries SET actor = (SELECT actor FROM audit_entries WHERE idx = 2) WHERE idx = 3" # not the original: still broken
sql "DELETE FROM audit_entries WHERE idx = (SELECT MAX(idx) FROM audit_entries)"
if "$BIN" audit verify --data "$DATA" "${DBARGS[@]}"; then bad "deleted row detected"; else ok "deleted row detected"; fi
if [ -z "$DB_URL" ]; then
  cp "$WORK/pristine.db" "$DATA/sidian.db"; rm -f "$DATA/sidian.db-wal" "$DATA/sidian.db-shm"
  sql "DELETE FROM audit_entries WHERE idx = (SELECT MAX(idx) FROM audit_entries)"
  if "$BIN" audit verify --data "$DATA"; then bad "deleted last row detected"; else ok "deleted last row detected"; fi
  # No private key in clear.
  python3 - "$DATA/sidian.db" <<'PY' && ok "database holds no unwrapped private key" || bad "database holds no unwrapped private key"
import sqlite3, sys
db = sys.argv[1]
raw = open(db, 'rb').read()
rows = sqlite3.connect(db).execute("SELECT wrapped_private FROM keys").fetchall()
# Every private key is a wrap blob (1 = SM4-GCM, 2 = AES-256-GCM, then nonce and ciphertext);
# the Rust test `no_private_key_in_database` checks the exact PKCS#8 bytes are absent.
assert rows and all(r[0][0] in (1, 2) and len(r[0]) > 28 for r in rows), "unexpected blob format"
assert b"PRIVATE KEY" not in raw
PY
fi
echo "e2e${DB_URL:+ (postgres)}: $pass passed, $fail failed"
[ "$fail" = 0 ]
