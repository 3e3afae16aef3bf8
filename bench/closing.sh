#!/usr/bin/env bash
# The automatic closing scheduler with 100,000 open conversations on 10 accounts, each in a
# rule, on SQLite and on PostgreSQL: one tick's time and CPU when nothing is due, a tick that
# closes 1,000, and the lateness of 2,000 closes due over one minute. Usage:
# bench/closing.sh [sqlite|postgres|both]  (default both); CONVERSATIONS changes the size.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/buzon/target}"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p server -p ingest-bench
bin="$CARGO_TARGET_DIR/release/buzon"
bench="$CARGO_TARGET_DIR/release/buzon-bench-closing"

run() {
  local backend=$1 data url
  data="$(mktemp -d)"
  if [ "$backend" = sqlite ]; then
    url="sqlite://$data/buzon.db"
  else
    url="postgres://postgres@127.0.0.1:5432/buzon_bench_close_$$"
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS buzon_bench_close_$$" -c "CREATE DATABASE buzon_bench_close_$$"
  fi
  export BUZON_DATA_DIR="$data" BUZON_DATABASE_URL="$url" BUZON_LOG=warn
  "$bin" migrate >/dev/null
  "$bin" org add --name Bench >/dev/null
  "$bench" --database-url "$url" --conversations "${CONVERSATIONS:-100000}" --label "$backend"
  [ "$backend" = postgres ] && psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS buzon_bench_close_$$ WITH (FORCE)"
  rm -rf "$data"
}

case "${1:-both}" in
  sqlite) run sqlite ;;
  postgres) run postgres ;;
  both) run sqlite; run postgres ;;
  *) echo "usage: $0 [sqlite|postgres|both]" >&2; exit 2 ;;
esac
