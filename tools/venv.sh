# Sourced by the scripts that run Python tools: makes a pinned venv under target/ when it is
# missing, incomplete or made from other pins, and only then (wheels only: no compiler, fast; no
# cache in ~/.cache/pip, so nothing is kept outside the clone).
#
# usage: python_venv LABEL VENV REQUIREMENTS MODULE...   (MODULEs must import once it is made)
python_venv() {
  local label=$1 venv=$2 req=$3
  shift 3
  local stamp=$venv/.sidian-requirements   # a copy of REQUIREMENTS, written when pip has succeeded
  local imports
  imports="import $(IFS=,; echo "$*")"
  complete() {
    [ -x "$venv/bin/python" ] && cmp -s "$req" "$stamp" && "$venv/bin/python" -c "$imports" >/dev/null 2>&1
  }
  complete && return 0
  if [ -e "$venv" ]; then
    # Only ever delete what is recognisably a venv: the path may come from the environment.
    [ -f "$venv/pyvenv.cfg" ] || { echo "$label: $venv exists and is not a venv; not touching it" >&2; return 1; }
    echo "$label: venv $venv is incomplete or made from other pins: making it again"
    rm -rf "$venv"
  fi
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "$venv/bin/pip" install -q --only-binary=:all: -r "$req"
  cp "$req" "$stamp"
  complete || { echo "$label: the venv at $venv is incomplete after pip" >&2; return 1; }
}
