#!/usr/bin/env bash
# Times `sidian import` of N 营业执照 (default 1,000,000; a CSV from examples/licence_csv.rs) into a
# fresh SQLite data directory, then into a fresh PostgreSQL database (created and dropped here)
# when one answers at $SIDIAN_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres).
# Every row is validated, signed (SM2), given a status list slot and audited.
#
#   tools/bench-import.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
PG_ADMIN=${SIDIAN_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
BUSINESS=111000009000000146001

cargo build -q --release --locked --bin sidian --example licence_csv
BIN=$PWD/target/release/sidian
W=$(mktemp -d)
DB=sidian_bench_import_$$
cleanup() {
  rm -rf "$W"
  if [ -n "${PG_CREATED:-}" ]; then psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true; fi
}
trap cleanup EXIT
target/release/examples/licence_csv "$N" > "$W/licences.csv"
echo "$N rows, $(du -h "$W/licences.csv" | cut -f1) of CSV; $(nproc) cores"

# bench LABEL [--database URL]
bench() {
  local label=$1; shift
  local data="$W/data-$label"
  "$BIN" --data "$data" "$@" init >/dev/null
  local issuer
  issuer=$("$BIN" --data "$data" "$@" issuer add 济南市市场监督管理局 --uscc 11370100004312345D | tail -1)
  local start end
  start=$(date +%s.%N)
  "$BIN" --data "$data" "$@" import --type "$BUSINESS" --issuer "$issuer" "$W/licences.csv" | head -1
  end=$(date +%s.%N)
  python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); n=int(sys.argv[3]); print(f'$label: {n} licences in {s:.1f} s = {n/s:,.0f}/s')" "$start" "$end" "$N"
}

bench sqlite
if command -v psql >/dev/null && psql -q "$PG_ADMIN" -c 'SELECT 1' >/dev/null 2>&1; then
  psql -q "$PG_ADMIN" -c "CREATE DATABASE $DB"
  PG_CREATED=1
  bench postgres --database "${PG_ADMIN%/*}/$DB"
else
  echo "postgres: skipped (nothing answers at $PG_ADMIN)"
fi
