#!/usr/bin/env bash
# install.sh — install what tools/pdf-validate needs, and only what is missing:
#   pdfsig, qpdf, certutil   apt-get install poppler-utils qpdf libnss3-tools (Debian, as root),
#                            only for the commands not on PATH;
#   pyHanko, reportlab & co  (requirements.txt) a venv in <repo>/target/pdf-tools/venv (or
#                            $PDF_VALIDATE_VENV), made only when missing, incomplete or made
#                            from other pins. pip's cache is off: nothing is written outside
#                            the clone but the Debian packages.
# A second run does nothing and takes about a second. `cargo clean` removes the venv.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VENV=${PDF_VALIDATE_VENV:-$ROOT/target/pdf-tools/venv}
REQ=$HERE/requirements.txt
need() { command -v "$1" >/dev/null 2>&1; }

pkgs=()
need pdfsig || pkgs+=(poppler-utils)
need qpdf || pkgs+=(qpdf)
need certutil || pkgs+=(libnss3-tools)
need python3 || pkgs+=(python3)
# Debian's python3 has no ensurepip without python3-venv (other builds of Python bring their own).
{ need python3 && python3 -c 'import ensurepip, venv' 2>/dev/null; } || pkgs+=(python3-venv)
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "install.sh: apt-get install ${pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
for c in pdfsig qpdf certutil python3; do need "$c" || { echo "install.sh: $c is still missing" >&2; exit 1; }; done

# shellcheck source=tools/venv.sh
. "$ROOT/tools/venv.sh"
python_venv install.sh "$VENV" "$REQ" asn1crypto PIL pyhanko.cli pyhanko_certvalidator reportlab
echo "install.sh: $("$VENV/bin/pyhanko" --version 2>&1 | head -n 1); $(pdfsig -v 2>&1 | head -n 1); $(qpdf --version | head -n 1); $(openssl version)"
