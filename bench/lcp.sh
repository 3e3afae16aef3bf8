#!/usr/bin/env bash
# Largest contentful paint of the inbox in headless Chromium on loopback, release build, with
# 2,000 conversations and 20,000 messages on SQLite. Usage: bench/lcp.sh (after
# `scripts/release`; SKIP_BUILD=1 skips building the bench tool;
# SITE_ROOT serves the assets from elsewhere than target/site).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/buzon/target}"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p server -p ingest-bench
bin="$CARGO_TARGET_DIR/release/buzon"
bench="$CARGO_TARGET_DIR/release/buzon-bench-workspace"
data="$(mktemp -d)"
port=3420
url="sqlite://$data/buzon.db"
export BUZON_DATA_DIR="$data" BUZON_DATABASE_URL="$url" BUZON_LOG=warn
"$bin" migrate >/dev/null
"$bin" org add --name Bench >/dev/null
echo "bench-password-1" | "$bin" user add --org Bench --email admin@bench.test --name "Admin" --role admin --password-stdin >/dev/null
"$bench" seed --database-url "$url" --conversations 2000 --messages 20000
BUZON_LISTEN="127.0.0.1:$port" BUZON_SITE_ROOT="${SITE_ROOT:-target/site}" "$bin" serve &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -s -o /dev/null -c "$data/jar" -d "email=admin@bench.test&password=bench-password-1" "http://127.0.0.1:$port/login"
cookie=$(awk '$6 == "buzon_session" {print $7}' "$data/jar")
NODE_PATH=end2end/node_modules node bench/lcp.cjs "http://127.0.0.1:$port" "$cookie" "${RUNS:-15}"
