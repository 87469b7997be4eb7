#!/usr/bin/env bash
# Regenerates assets/fonts/NotoSerifSC-Bold-GB2312.ttf, the CJK font the seal renderer
# (src/render/seal.rs) embeds with include_bytes!.
#
# Needs network (npm registry, PyPI) and is not run by CI: the subset is committed.
# Usage: tools/font-subset.sh            (from the repository root)
set -euo pipefail

PKG="@expo-google-fonts/noto-serif-sc"
PKG_VERSION="${PKG_VERSION:-0.4.3}"
WEIGHT_FILE="700Bold/NotoSerifSC_700Bold.ttf"
FONTTOOLS_VERSION="${FONTTOOLS_VERSION:-4.68.0}"

root="$(cd "$(dirname "$0")/.." && pwd)"
out_dir="$root/assets/fonts"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 -m pip install --quiet "fonttools==$FONTTOOLS_VERSION"

cd "$work"
npm pack --silent "$PKG@$PKG_VERSION" >/dev/null
tar xzf ./*.tgz

# The character set: every character GB2312 encodes (6763 hanzi, full-width forms, symbols),
# printable ASCII, and punctuation organisation names and seal codes use that GB2312 maps
# elsewhere or lacks (middle dots, dashes, quotes, ideographic space).
python3 - >unicodes.txt <<'PY'
cps = set(range(0x20, 0x7F))
for hi in range(0xA1, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            ch = bytes([hi, lo]).decode("gb2312")
        except UnicodeDecodeError:
            continue
        cps.add(ord(ch))
cps.update([0x00B7, 0x2014, 0x2015, 0x2018, 0x2019, 0x201C, 0x201D, 0x2026, 0x2027,
            0x3000, 0x3001, 0x3002, 0x30FB, 0xFF08, 0xFF09, 0xFF0C, 0xFF0D, 0xFF0E])
print(",".join(f"U+{cp:04X}" for cp in sorted(cps)))
PY

# TrueType glyf outlines stay (ttf-parser reads them directly); hinting goes (we rasterise
# with our own anti-aliasing at seal sizes); no layout features are needed because the
# renderer places every character itself; the name table stays whole for attribution.
pyftsubset "package/$WEIGHT_FILE" \
  --unicodes-file=unicodes.txt \
  --output-file="$out_dir/NotoSerifSC-Bold-GB2312.ttf" \
  --no-hinting \
  --layout-features='' \
  --drop-tables+=GSUB,GPOS,GDEF,BASE,STAT,vhea,vmtx,gasp \
  --name-IDs='*' --name-languages='*' --name-legacy \
  --notdef-outline \
  --glyph-names=false \
  --recalc-bounds

ls -l "$out_dir/NotoSerifSC-Bold-GB2312.ttf"
