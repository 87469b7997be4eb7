"""Checks pdftoppm's rendering of one page against where the model put things.

check.py PAGE.png LAYOUT.json PAGE_INDEX

LAYOUT.json is what examples/ofd_sample.rs prints (millimetres from the top-left corner). The
page must be: inked inside every text box, the picture's colours inside its rectangle, dark along
every rule, and white everywhere else (template rules are allowed but not required: easyofd 0.5.6
draws a template page on the document's last page only). Prints one line per check, "ok ..." or
"FAIL ...", and exits 1 if any failed.
"""
import json
import sys

from PIL import Image

png, layout, index = sys.argv[1], sys.argv[2], int(sys.argv[3])
page = json.load(open(layout))["pages"][index]
img = Image.open(png).convert("RGB")
W, H = img.size
pw, ph = page["size"]
sx, sy = W / pw, H / ph
px = img.load()
failed = 0


def report(ok, what):
    global failed
    print(("ok   " if ok else "FAIL ") + what)
    failed += not ok


def region(box, grow=0.0):
    """Pixel bounds of a box [x, y, w, h] in mm, grown by `grow` mm on every side."""
    x, y, w, h = box
    return (max(0, int((x - grow) * sx)), max(0, int((y - grow) * sy)),
            min(W, int((x + w + grow) * sx) + 1), min(H, int((y + h + grow) * sy) + 1))


def luma(p):
    return (299 * p[0] + 587 * p[1] + 114 * p[2]) // 1000


def pixels(box, grow=0.0):
    x0, y0, x1, y1 = region(box, grow)
    return [px[x, y] for y in range(y0, y1) for x in range(x0, x1)]


report(abs(sx - sy) / sx < 0.01, f"page {index + 1}: {W}x{H} px has the model's {pw}x{ph} mm proportions")
for t in page["texts"]:
    ps = pixels(t["box"])
    ink = sum(luma(p) < 128 for p in ps) / len(ps)
    report(ink > 0.05, f"text {t['text']!r}: {ink:.1%} of its box is ink")
for box in page["images"]:
    ps = pixels(box, grow=-0.5)
    blue = sum(p[2] > 100 and p[2] > p[0] + 60 for p in ps) / len(ps)
    report(blue > 0.95, f"picture at {box}: {blue:.1%} of it shows the picture's blues")
for x, y, length in page["rules"]:
    x0, y0, x1, y1 = region([x, y - 0.5, length, 1.0])
    dark = sum(any(luma(px[c, r]) < 128 for r in range(y0, y1)) for c in range(x0, x1)) / (x1 - x0)
    report(dark > 0.95, f"rule at y={y} mm: dark along {dark:.1%} of its length")

allowed = [region(t["box"], grow=1.5) for t in page["texts"]]
allowed += [region(b, grow=1.0) for b in page["images"]]
allowed += [region([x, y - 1.0, length, 2.0], grow=1.0)
            for x, y, length in page["rules"] + page["template_rules"]]
stray = 0
for yy in range(H):
    for xx in range(W):
        if luma(px[xx, yy]) < 230 and not any(a <= xx < c and b <= yy < d for a, b, c, d in allowed):
            stray += 1
report(stray <= W * H // 2000, f"{stray} non-white pixels outside the placed objects")
sys.exit(1 if failed else 0)
