#!/usr/bin/env python3
"""hostile_pdfs.py OUTDIR — PDFs made to exhaust a verifier (docs/threats.md §3.2), each otherwise
well-formed (exact xref), so a reader gets as far as the hostile part:

  bomb.pdf    a page whose content stream is 1 GiB of zeros deflated (about 1 MiB on disk)
  cycle.pdf   a /Pages tree whose /Kids lead back to itself
  deep.pdf    an array nested 20,000 levels deep in the catalog
"""
import os
import sys
import zlib


def pdf(objects, root=1):
    """objects: list of bytes bodies for objects 1..n; returns a file with an exact xref."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f\r\n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n\r\n" % off
    out += b"trailer\n<</Size %d/Root %d 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, root, xref)
    return bytes(out)


def bomb():
    z = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    data = b"".join(z.compress(chunk) for _ in range(1024)) + z.flush()
    stream = b"<</Length %d/Filter /FlateDecode>>\nstream\n" % len(data) + data + b"\nendstream"
    return pdf([
        b"<</Type /Catalog/Pages 2 0 R>>",
        b"<</Type /Pages/Kids [3 0 R]/Count 1>>",
        b"<</Type /Page/Parent 2 0 R/MediaBox [0 0 595 842]/Contents 4 0 R>>",
        stream,
    ])


def cycle():
    return pdf([
        b"<</Type /Catalog/Pages 2 0 R>>",
        b"<</Type /Pages/Kids [3 0 R]/Count 1>>",
        b"<</Type /Pages/Parent 2 0 R/Kids [2 0 R]/Count 1>>",
    ])


def deep():
    depth = 20000
    return pdf([
        b"<</Type /Catalog/Pages 2 0 R/Deep " + b"[" * depth + b"]" * depth + b">>",
        b"<</Type /Pages/Kids [3 0 R]/Count 1>>",
        b"<</Type /Page/Parent 2 0 R/MediaBox [0 0 595 842]>>",
    ])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    for name, make in (("bomb", bomb), ("cycle", cycle), ("deep", deep)):
        with open(os.path.join(out, name + ".pdf"), "wb") as f:
            f.write(make())


if __name__ == "__main__":
    main()
