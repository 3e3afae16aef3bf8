#!/usr/bin/env bash
# The CRM's contacts at a million, on SQLite and on PostgreSQL: a release server whose
# organization holds 1,000,000 contacts with 2,000,000 phones; `buzon-bench-contacts` measures
# the searches (by name, by any number, by email) and the list's pages through their server
# functions, the matching of a new WhatsApp conversation to its contact as ingest does it, and
# an import's rows per second. Usage: bench/contacts.sh [sqlite|postgres|both] (default both);
# CONTACTS and IMPORT_ROWS change the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/buzon/target}"
# PROFILE=quick-release measures a build without link-time optimisation (a quicker build).
profile="${PROFILE:-release}"
[ -n "${SKIP_BUILD:-}" ] || cargo build --profile "$profile" -q -p server -p ingest-bench
bin="$CARGO_TARGET_DIR/$profile/buzon"
bench="$CARGO_TARGET_DIR/$profile/buzon-bench-contacts"

run() {
  local backend=$1 data url port=3420
  data="$(mktemp -d)"
  if [ "$backend" = sqlite ]; then
    url="sqlite://$data/buzon.db"
  else
    url="postgres://postgres@127.0.0.1:5432/buzon_bench_contacts_$$"
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS buzon_bench_contacts_$$" -c "CREATE DATABASE buzon_bench_contacts_$$"
  fi
  export BUZON_DATA_DIR="$data" BUZON_DATABASE_URL="$url" BUZON_LOG=warn
  "$bin" migrate >/dev/null
  "$bin" org add --name Bench --country MX >/dev/null
  echo "bench-password-1" | "$bin" user add --org Bench --email admin@bench.test --name "Admin" --role admin --password-stdin >/dev/null
  echo '{"access_token":"x","app_secret":"y","verify_token":"z"}' | "$bin" account connect --org Bench --channel whatsapp --external-id 900100 --name Ventas --credentials-stdin >/dev/null
  "$bench" seed --database-url "$url" --contacts "${CONTACTS:-1000000}"
  BUZON_LISTEN="127.0.0.1:$port" BUZON_SITE_ROOT=target/site "$bin" serve &
  local pid=$!
  for _ in $(seq 600); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  local cookie=""
  for _ in $(seq 10); do
    curl -s -o /dev/null -c "$data/jar" -d "email=admin@bench.test&password=bench-password-1" "http://127.0.0.1:$port/login"
    cookie=$(awk '$6 == "buzon_session" {print $7}' "$data/jar")
    [ -n "$cookie" ] && break
    sleep 1
  done
  [ -n "$cookie" ] || echo "could not sign in to the server on $port" >&2
  "$bench" measure --base "http://127.0.0.1:$port" --cookie "$cookie" --label "$backend" || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  "$bench" direct --database-url "$url" --import-rows "${IMPORT_ROWS:-100000}" --label "$backend" || true
  [ "$backend" = postgres ] && psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS buzon_bench_contacts_$$ WITH (FORCE)"
  rm -rf "$data"
}

case "${1:-both}" in
  sqlite) run sqlite ;;
  postgres) run postgres ;;
  both) run sqlite; run postgres ;;
  *) echo "usage: $0 [sqlite|postgres|both]" >&2; exit 2 ;;
esac
