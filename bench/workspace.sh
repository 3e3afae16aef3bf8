#!/usr/bin/env bash
# The agent workspace with a large inbox, on SQLite and on PostgreSQL: a release server whose
# organization holds 100,000 conversations and 1,000,000 messages; `buzon-bench-workspace`
# measures the inbox page's server render and the conversation list's requests (first page,
# a deep page, sections, unread, a line, search, counts). Usage:
# bench/workspace.sh [sqlite|postgres|both]  (default both); CONVERSATIONS and MESSAGES change
# the size.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/buzon/target}"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p server -p ingest-bench
bin="$CARGO_TARGET_DIR/release/buzon"
bench="$CARGO_TARGET_DIR/release/buzon-bench-workspace"

run() {
  local backend=$1 data url port=3410
  data="$(mktemp -d)"
  if [ "$backend" = sqlite ]; then
    url="sqlite://$data/buzon.db"
  else
    url="postgres://postgres@127.0.0.1:5432/buzon_bench_ws_$$"
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS buzon_bench_ws_$$" -c "CREATE DATABASE buzon_bench_ws_$$"
  fi
  export BUZON_DATA_DIR="$data" BUZON_DATABASE_URL="$url" BUZON_LOG=warn
  "$bin" migrate >/dev/null
  "$bin" org add --name Bench >/dev/null
  echo "bench-password-1" | "$bin" user add --org Bench --email admin@bench.test --name "Admin" --role admin --password-stdin >/dev/null
  "$bench" seed --database-url "$url" --conversations "${CONVERSATIONS:-100000}" --messages "${MESSAGES:-1000000}"
  BUZON_LISTEN="127.0.0.1:$port" BUZON_SITE_ROOT=target/site "$bin" serve &
  local pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  curl -s -o /dev/null -c "$data/jar" -d "email=admin@bench.test&password=bench-password-1" "http://127.0.0.1:$port/login"
  local cookie
  cookie=$(awk '$6 == "buzon_session" {print $7}' "$data/jar")
  "$bench" measure --base "http://127.0.0.1:$port" --cookie "$cookie" --label "$backend" || true
  echo "server memory (resident): $(awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [ "$backend" = postgres ] && psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS buzon_bench_ws_$$ WITH (FORCE)"
  rm -rf "$data"
}

case "${1:-both}" in
  sqlite) run sqlite ;;
  postgres) run postgres ;;
  both) run sqlite; run postgres ;;
  *) echo "usage: $0 [sqlite|postgres|both]" >&2; exit 2 ;;
esac
