#!/usr/bin/env bash
# make_signed.sh OUT_DIR — rebuild the signed PDF fixtures of tests/data/pdf (see NOTICE.md).
# Needs the validator kit (KIT, default tools/pdf-validate of this repository), its pyHanko
# venv (PDF_VALIDATE_VENV, default target/pdf-tools/venv as its install.sh makes it), OpenSSL 3 and qpdf.
set -euo pipefail
KIT=${KIT:-$(cd "$(dirname "$0")/../../../tools/pdf-validate" && pwd)}
PY=${PDF_VALIDATE_VENV:-$(cd "$(dirname "$0")/../../.." && pwd)/target/pdf-tools/venv}/bin/python
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
cd "$OUT"
# The kit's PKI with a P-256/SHA-256 root: sidian's chain validation does ECDSA P-256/SHA-256,
# RSA/SHA-256, SM2/SM3 and Ed25519, not the kit's P-384/SHA-384 root.
sed -e 's/ec_paramgen_curve:P-384/ec_paramgen_curve:P-256/' -e 's/-sha384/-sha256/g' \
  "$KIT/make_pki.sh" > make_pki_p256.sh
bash make_pki_p256.sh pki > pki.log 2>&1
# An RSA time-stamping authority under the intermediate (pyHanko's DummyTimeStamper is RSA-only).
cat >> pki/ext.cnf <<'CNF'
[ v3_tsa ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, nonRepudiation
extendedKeyUsage       = critical, timeStamping
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
CNF
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out pki/tsa.key 2>/dev/null
openssl req -new -key pki/tsa.key -subj "/C=CN/O=Validator Test PKI/CN=Test TSA" -out pki/tsa.csr
openssl x509 -req -in pki/tsa.csr -CA pki/inter.pem -CAkey pki/inter.key -CAcreateserial \
  -sha256 -days 825 -extfile pki/ext.cnf -extensions v3_tsa -out pki/tsa.pem
"$PY" "$KIT/make_pdfs.py" pdfs > /dev/null          # only for seal.png (the SM2 appearance)
"$PY" "$HERE/make_signed.py" pki "$HERE" .
# An SM2/SM3 signature (GM/T 0010 CMS made with the OpenSSL CLI) after the ECDSA one.
"$PY" "$KIT/sm2_pdf.py" pdf --key pki/sm2-seal.key --cert pki/sm2-seal.pem \
  --image pdfs/seal.png ec-single.tmp.pdf ec-then-sm2.pdf
# The kit's tamper: an incremental update that redefines the page's content stream.
python3 "$KIT/tamper.py" incr rsa-pkcs7.pdf rsa-pkcs7-incr.pdf
cp pki/root.pem root.pem
cp pki/sm2-root.pem sm2-root.pem
rm -f ec-single.tmp.pdf
