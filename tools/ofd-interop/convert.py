"""OFD to PDF with easyofd: convert.py IN.ofd OUT.pdf (run it in a scratch directory: easyofd
unpacks the package and the embedded fonts into the current directory).

easyofd's own OFD.to_pdf() turns any exception into a one-page "ofd 格式错误" PDF; this calls its
parser and drawer directly so that a failure fails.
"""
import base64
import sys

from easyofd.draw import DrawPDF
from easyofd.parser_ofd import OFDParser

with open(sys.argv[1], "rb") as f:
    data = OFDParser(base64.b64encode(f.read()).decode("ascii"))()
drawer = DrawPDF(data)
drawer.draw_pdf()
with open(sys.argv[2], "wb") as f:
    f.write(drawer.pdf_io.getvalue())
