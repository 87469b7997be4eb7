#!/usr/bin/env python3
"""pyhanko_verify.py — pyHanko's CPU time to validate every signature of one PDF, in one process
(interpreter start, imports and loading the roots excluded).

  pyhanko_verify.py [--seconds 5] FILE.pdf ROOTS.pem

One iteration = what a verification service does per request: parse the PDF bytes
(PdfFileReader over BytesIO), then validate_pdf_signature() for each signature (not document
timestamps) with a fresh ValidationContext that trusts ROOTS only, revocation not fetched
(soft-fail, as `pyhanko sign validate --no-revocation-check`), and pyHanko's default difference
analysis of the later revisions. Prints each signature's summary once, then the CPU (and wall)
median per iteration. Exit 1 if any signature is not intact and trusted.
Run it with the venv of tools/pdf-validate/install.sh.
"""
import argparse
import statistics
import sys
import time
from io import BytesIO

from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def validate_all(data, roots):
    r = PdfFileReader(BytesIO(data))
    out = []
    for sig in r.embedded_regular_signatures:
        vc = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
        out.append((sig.field_name, validate_pdf_signature(sig, signer_validation_context=vc)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pdf")
    ap.add_argument("roots")
    ap.add_argument("--seconds", type=float, default=5)
    ns = ap.parse_args()
    data = open(ns.pdf, "rb").read()
    roots = list(load_certs_from_pemder([ns.roots]))
    first = validate_all(data, roots)           # also the warm-up
    good = True
    for name, st in first:
        print(f"{name}: {st.summary()}")
        good &= st.intact and st.valid and st.trusted
    validate_all(data, roots)
    wall, cpu = [], []
    t_end = time.perf_counter() + ns.seconds
    while time.perf_counter() < t_end or len(cpu) < 5:
        t0, c0 = time.perf_counter(), time.process_time()
        validate_all(data, roots)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(f"pyHanko validate {len(first)} signature(s) of {ns.pdf} ({len(data)} bytes): n={len(cpu)}"
          f"  CPU median {statistics.median(cpu) * 1e3:.2f} ms  (wall median {statistics.median(wall) * 1e3:.2f} ms)"
          f" per full validation", flush=True)
    return 0 if good and first else 1


if __name__ == "__main__":
    sys.exit(main())
