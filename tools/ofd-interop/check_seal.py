"""Checks that a rendered page shows the seal's picture where the seal was asked to go.

check_seal.py PAGE.png SEALED.ofd X_MM Y_MM [hand]

With `hand`, the last signature is a handwritten one: its picture is dark blue strokes fitted
inside the Boundary (not filling it), so the ink's bounding box must lie within the Boundary
(within 1.5 mm) and cover at least half its width, and some of the box is ink.

The first StampAnnot of the package's last signature gives the seal's size (Boundary w, h) and the
page it is on; the page size comes from Document.xml. The seal is red ink: the bounding box of the
page's red pixels must be the requested top-left corner (X, Y in mm from the page's top-left,
as OFD measures) and the Boundary's size, within 1.5 mm, and a fair share of that box is red.
Prints one line per check; exits 1 if any failed.
"""
import re
import sys
import zipfile
import xml.etree.ElementTree as ET

from PIL import Image

NS = {"ofd": "http://www.ofdspec.org/2016"}
png, ofd, want_x, want_y = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
hand = sys.argv[5:] == ["hand"]
z = zipfile.ZipFile(ofd)
doc = ET.fromstring(z.read("Doc_0/Document.xml"))
pw, ph = [float(v) for v in doc.find(".//ofd:PageArea/ofd:PhysicalBox", NS).text.split()][2:]
signs = sorted(n for n in z.namelist() if re.fullmatch(r"Doc_0/Signs/Sign_\d+/Signature\.xml", n))
annot = ET.fromstring(z.read(signs[-1])).find(".//ofd:StampAnnot", NS)
bx, by, bw, bh = [float(v) for v in annot.get("Boundary").split()]

img = Image.open(png).convert("RGB")
W, H = img.size
sx, sy = W / pw, H / ph
px = img.load()
if hand:  # the pen's dark blue ink, looked for within 10 mm of the Boundary (the page has its own colours)
    box = [int((want_x - 10) * sx), int((want_y - 10) * sy), int((want_x + bw + 10) * sx), int((want_y + bh + 10) * sy)]
    red = [(x, y) for y in range(max(box[1], 0), min(box[3], H)) for x in range(max(box[0], 0), min(box[2], W))
           if px[x, y][2] > px[x, y][0] + 30 and px[x, y][0] < 110]
else:
    red = [(x, y) for y in range(H) for x in range(W)
           if px[x, y][0] > 150 and px[x, y][1] < 110 and px[x, y][2] < 110]
failed = 0


def report(ok, what):
    global failed
    print(("ok   " if ok else "FAIL ") + what)
    failed += not ok


if not red:
    report(False, "no red ink on the page: the seal's picture is not drawn")
    sys.exit(1)
x0, y0 = min(p[0] for p in red) / sx, min(p[1] for p in red) / sy
x1, y1 = (max(p[0] for p in red) + 1) / sx, (max(p[1] for p in red) + 1) / sy
if hand:
    report(want_x - 1.5 <= x0 and x1 <= want_x + bw + 1.5 and want_y - 1.5 <= y0
           and y1 <= want_y + bh + 1.5 and x1 - x0 >= bw / 2,
           f"the handwriting's ink spans ({x0:.1f}, {y0:.1f})–({x1:.1f}, {y1:.1f}) mm, inside the "
           f"Boundary at ({want_x:g}, {want_y:g}), {bw:g}×{bh:g} mm")
    share = len(red) / (bw * sx * bh * sy)
    report(share > 0.01, f"{share:.0%} of the signature's box is ink")
else:
    report(abs(x0 - want_x) <= 1.5 and abs(y0 - want_y) <= 1.5 and abs((x1 - x0) - bw) <= 1.5
           and abs((y1 - y0) - bh) <= 1.5,
           f"the seal's red ink spans ({x0:.1f}, {y0:.1f})–({x1:.1f}, {y1:.1f}) mm; asked at "
           f"({want_x:g}, {want_y:g}), Boundary {bw:g}×{bh:g} mm")
    share = len(red) / ((x1 - x0) * sx * (y1 - y0) * sy)
    report(share > 0.08, f"{share:.0%} of the seal's box is red ink")
report((bx, by) == (want_x, want_y), f"Signature.xml StampAnnot Boundary starts at ({bx:g}, {by:g})")
sys.exit(1 if failed else 0)
