#!/usr/bin/env bash
# Webhook ingest on SQLite and on PostgreSQL: a release server with 10 connected WhatsApp lines
# and AGENTS signed-in administrators on the live stream; then `buzon-bench-ingest` measures
# throughput, acknowledgement and delivery latencies, CPU per message, memory, and a raw
# SQLite insert baseline. Usage: bench/ingest.sh [sqlite|postgres|both]  (default both)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/buzon/target}"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p server -p ingest-bench
bin="$CARGO_TARGET_DIR/release/buzon"
bench="$CARGO_TARGET_DIR/release/buzon-bench-ingest"
agents="${AGENTS:-50}"
seconds="${SECONDS_PER_RUN:-10}"
rate="${RATE:-1000}"
lines=$(seq -s, 2001 2010)

run() {
  local backend=$1 data url port=3400
  data="$(mktemp -d)"
  if [ "$backend" = sqlite ]; then
    url="sqlite://$data/buzon.db"
  else
    url="postgres://postgres@127.0.0.1:5432/buzon_bench_$$"
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS buzon_bench_$$" -c "CREATE DATABASE buzon_bench_$$"
  fi
  export BUZON_DATA_DIR="$data" BUZON_DATABASE_URL="$url" BUZON_LOG=warn
  "$bin" migrate >/dev/null
  "$bin" org add --name Bench >/dev/null
  echo "bench-password-1" | "$bin" user add --org Bench --email agent0@bench.test --name "Agent 0" --role admin --password-stdin >/dev/null
  for line in ${lines//,/ }; do
    echo '{"app_secret":"bench-app-secret","access_token":"x"}' |
      "$bin" account connect --org Bench --channel whatsapp --external-id "$line" --name "Line $line" --credentials-stdin >/dev/null
  done
  # More administrators with the same password, straight into the table (hashing each is slow).
  local sql="INSERT INTO users (org_id, role_id, email, name, password_hash, status, language, created_at, updated_at)
    SELECT org_id, role_id, 'agent' || n.n || '@bench.test', 'Agent ' || n.n, password_hash, status, language, created_at, updated_at
    FROM users, (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < $((agents - 1))) SELECT n FROM c) n
    WHERE email = 'agent0@bench.test'"
  if [ "$agents" -gt 1 ]; then
    if [ "$backend" = sqlite ]; then sqlite3 "$data/buzon.db" "$sql"; else psql -q -h 127.0.0.1 -U postgres -d "buzon_bench_$$" -c "$sql"; fi
  fi
  BUZON_LISTEN="127.0.0.1:$port" BUZON_SITE_ROOT=target/site "$bin" serve &
  local pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  : > "$data/cookies"
  for n in $(seq 0 $((agents - 1))); do
    curl -s -o /dev/null -c "$data/jar" -d "email=agent$n@bench.test&password=bench-password-1" "http://127.0.0.1:$port/login"
    awk '$6 == "buzon_session" {print $7}' "$data/jar" >> "$data/cookies"
  done
  "$bench" --base "http://127.0.0.1:$port" --pid "$pid" --lines "$lines" --seconds "$seconds" --rate "$rate" \
    --agent-cookies "$data/cookies" --label "$backend" \
    $([ "$backend" = sqlite ] && echo "--baseline-db $data/baseline.db") || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [ "$backend" = postgres ] && psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS buzon_bench_$$ WITH (FORCE)"
  rm -rf "$data"
}

case "${1:-both}" in
  sqlite) run sqlite ;;
  postgres) run postgres ;;
  *) run sqlite; run postgres ;;
esac
