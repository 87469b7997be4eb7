#!/usr/bin/env python3
"""make_signed.py PKI_DIR IN_DIR OUT_DIR — the pyHanko-signed fixtures of the PDF verification
tests (run by make_signed.sh, which makes the PKI first).

pyHanko 0.38 API; the RSA test TSA (PKI_DIR/tsa.{key,pem}, EKU timeStamping) answers through
pyHanko's DummyTimeStamper, so nothing touches the network. Signing times are the wall clock.
"""
import io
import subprocess
import sys

from asn1crypto import pem, x509, keys
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

pki, src, out = sys.argv[1:4]


def load_cert(path):
    data = open(path, "rb").read()
    _, _, der = pem.unarmor(data)
    return x509.Certificate.load(der)


def load_key(path):
    data = open(path, "rb").read()
    _, _, der = pem.unarmor(data)
    return keys.PrivateKeyInfo.load(der)


def signer(name):
    return signers.SimpleSigner.load(
        f"{pki}/seal-{name}.key", f"{pki}/seal-{name}.pem",
        ca_chain_files=(f"{pki}/inter.pem",))


tsa = DummyTimeStamper(
    tsa_cert=load_cert(f"{pki}/tsa.pem"), tsa_key=load_key(f"{pki}/tsa.key"),
    certs_to_embed=[load_cert(f"{pki}/inter.pem")])


def sign(data, who, field, box, page=0, subfilter=SigSeedSubFilter.PADES, certify=False,
         perm=MDPPerm.FILL_FORMS, timestamper=None):
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    meta = signers.PdfSignatureMetadata(
        field_name=field, subfilter=subfilter, certify=certify, docmdp_permissions=perm,
        reason="sidian test fixture", name=f"Test Seal {who.upper()}", md_algorithm="sha256")
    spec = SigFieldSpec(field, box=box, on_page=page)
    res = signers.sign_pdf(w, meta, signer=signer(who), timestamper=timestamper,
                           new_field_spec=spec)
    return res.getvalue()


def doc_timestamp(data):
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    res = signers.PdfTimeStamper(tsa).timestamp_pdf(w, "sha256")
    return res.getvalue()


def write(name, data):
    open(f"{out}/{name}", "wb").write(data)
    print(name, len(data))


one = open(f"{src}/doc-1p.pdf", "rb").read()
many = open(f"{src}/doc-200p.pdf", "rb").read()

# One ECDSA PAdES (CAdES) signature with a signature time-stamp token (B-T).
write("ec-bt.pdf", sign(one, "ec", "Seal1", (380, 40, 540, 120), timestamper=tsa))
# One RSA signature, adbe.pkcs7.detached.
write("rsa-pkcs7.pdf", sign(one, "rsa", "Seal1", (380, 40, 540, 120),
                            subfilter=SigSeedSubFilter.ADOBE_PKCS7_DETACHED))
# Two approval signatures in two revisions, side by side.
first = sign(one, "ec", "Seal1", (380, 40, 540, 120))
write("two-seals.pdf", sign(first, "rsa", "Seal2", (200, 40, 360, 120)))
write("ec-single.tmp.pdf", first)
# A certification with DocMDP P1 (no changes), then an approval signature nonetheless.
cert = sign(one, "ec", "Seal1", (380, 40, 540, 120), certify=True, perm=MDPPerm.NO_CHANGES)
# pyHanko refuses to sign after P1 (correctly); a signer that ignores DocMDP is simulated by
# switching that check off for this one signature.
check = signers.PdfSigner._enforce_certification_constraints
signers.PdfSigner._enforce_certification_constraints = lambda self, reader: None
write("certified-p1-then-seal.pdf", sign(cert, "rsa", "Seal2", (200, 40, 360, 120)))
signers.PdfSigner._enforce_certification_constraints = check
# A certification with DocMDP P2 (form filling and signing), then an approval signature.
cert2 = sign(one, "ec", "Seal1", (380, 40, 540, 120), certify=True, perm=MDPPerm.FILL_FORMS)
write("certified-p2-then-seal.pdf", sign(cert2, "rsa", "Seal2", (200, 40, 360, 120)))
# 200 pages: two signatures and a document time-stamp (the timing sample).
big = sign(many, "ec", "Seal1", (380, 40, 540, 120))
big = sign(big, "rsa", "Seal2", (200, 40, 360, 120), page=199)
write("200p-3sigs.pdf", doc_timestamp(big))
# Cross-reference and object streams in the original (qpdf), two seals in xref-stream updates.
packed = subprocess.run(["qpdf", "--object-streams=generate", f"{src}/doc-1p.pdf", "-"],
                        check=True, capture_output=True).stdout
packed = sign(packed, "ec", "Seal1", (380, 40, 540, 120))
write("xref-streams.pdf", sign(packed, "rsa", "Seal2", (200, 40, 360, 120)))
