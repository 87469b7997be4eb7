#!/usr/bin/env bash
# The pages driven in headless Chromium (tests/browser/run.mjs): a licence issued and shown as
# a 亮证 code, checked on /inspect online, then offline with the server stopped (the service
# worker's cached page, the kept trust list and signed status list), revoked and checked again,
# and a sealed PDF verified on /verify; a signature drawn on /sign/{token} with synthetic pen, mouse
# and touch events. Screenshots of each step: target/browser-artefacts/.
# Also the JS verifier against the presentation token vectors (node --test tests/browser/).
#
# Needs node (>= 20) and Debian's chromium (installed by apt when /usr/bin/chromium is missing);
# installs playwright-core (pinned in tests/browser/package-lock.json) into target/browser only.
# SIDIAN_BIN picks the binary (default: target/debug/sidian, built when unset).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# Chromium, and a CJK font so that the screenshots show the Chinese text.
NEED=()
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || NEED+=(nodejs npm)
[ -x /usr/bin/chromium ] || NEED+=(chromium)
fc-list 2>/dev/null | grep -qiE 'wqy|noto sans cjk' || NEED+=(fonts-wqy-microhei)
if [ ${#NEED[@]} -gt 0 ]; then
  echo "browser-test: installing ${NEED[*]} from Debian"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${NEED[@]}") >/dev/null
fi

MODULES=$ROOT/target/browser
mkdir -p "$MODULES"
if ! cmp -s tests/browser/package-lock.json "$MODULES/package-lock.json" || [ ! -d "$MODULES/node_modules/playwright-core" ]; then
  cp tests/browser/package.json tests/browser/package-lock.json "$MODULES/"
  npm ci --prefix "$MODULES" --ignore-scripts --no-audit --no-fund --loglevel=error
fi

if [ -z "${SIDIAN_BIN:-}" ]; then
  cargo build -q --bin sidian
  SIDIAN_BIN=$ROOT/target/debug/sidian
fi

# The JS verifier against the vectors the Rust side made.
node --test tests/browser/offline.test.mjs

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DATA=$WORK/data
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$SIDIAN_BIN" init --data "$DATA" >/dev/null
ISS=$("$SIDIAN_BIN" issuer add 济南市市场监督管理局 --uscc 11370100004312345D --data "$DATA" | tail -n 1)
LKEY=$("$SIDIAN_BIN" client add licence-system --scope licence:issue --issuer "$ISS" --data "$DATA" | tail -n 1)
WKEY=$("$SIDIAN_BIN" client add wallet --scope present --issuer "$ISS" --data "$DATA" | tail -n 1)
IKEY=$("$SIDIAN_BIN" client add police --scope inspect --data "$DATA" | tail -n 1)
SKEY=$("$SIDIAN_BIN" client add sealing-system --data "$DATA" | tail -n 1)
DKEY=$("$SIDIAN_BIN" client add tax-bureau --scope licence:use --data "$DATA" | tail -n 1)
GKEY=$("$SIDIAN_BIN" client add approval-system --scope sign --data "$DATA" | tail -n 1)
DEPT_ID=$("$SIDIAN_BIN" client list --data "$DATA" | awk -F'\t' '$1 == "tax-bureau" {print $2}')

rm -rf target/browser-artefacts
mkdir -p target/browser-artefacts
SIDIAN_BIN=$SIDIAN_BIN SIDIAN_DATA=$DATA PORT=$PORT LICENCE_KEY=$LKEY WALLET_KEY=$WKEY \
  INSPECTOR_KEY=$IKEY SEAL_KEY=$SKEY DEPT_KEY=$DKEY SIGN_KEY=$GKEY DEPT_ID=$DEPT_ID SIDIAN_DEMO_WALLET=1 \
  BROWSER_MODULES=$MODULES/node_modules \
  ARTEFACTS=$ROOT/target/browser-artefacts WORK=$WORK \
  node tests/browser/run.mjs
