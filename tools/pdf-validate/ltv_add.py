#!/usr/bin/env python3
"""ltv_add.py IN OUT ROOT: pyHanko adds validation information (a DSS: certificates, and the CRLs
it fetches from the certificates' distribution points) for the first signature of IN, as an
incremental update written to OUT, as any relying party's LTV tool would to a PDF sealed by
someone else. ROOT (PEM or DER) is the trust anchor. Prints the catalog's /Version and
/Extensions after the update, which pyHanko may raise."""
import sys

from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import add_validation_info
from pyhanko_certvalidator import ValidationContext


def load(path):
    data = open(path, "rb").read()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return x509.Certificate.load(data)


def main():
    src, dst, root = sys.argv[1:4]
    vc = ValidationContext(trust_roots=[load(root)], allow_fetching=True)
    with open(src, "rb") as inf, open(dst, "wb") as out:
        sig = PdfFileReader(inf).embedded_signatures[0]
        add_validation_info(sig, vc, output=out)
    with open(dst, "rb") as f:
        root_dict = PdfFileReader(f).root
        print("Version", root_dict.get("/Version"), "Extensions", root_dict.get("/Extensions"),
              "DSS", "/DSS" in root_dict)


if __name__ == "__main__":
    main()
