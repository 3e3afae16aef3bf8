#!/usr/bin/env bash
# Resident memory (VmRSS) of the release server on a fresh SQLite database: right after start-up,
# and after 200 page loads (login page and server-function calls) have warmed it up.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CARGO_TARGET_DIR:-$HOME/.cache/buzon/target}/release/buzon"
data="$(mktemp -d)"
port=3190
BUZON_DATA_DIR="$data" BUZON_LISTEN="127.0.0.1:$port" BUZON_LOG=warn BUZON_SITE_ROOT=target/site "$bin" serve &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
sleep 1
echo "after start-up: $(grep VmRSS /proc/$pid/status)"
for _ in $(seq 100); do
  curl -fs -o /dev/null "http://127.0.0.1:$port/login"
  curl -fs -o /dev/null -X POST "http://127.0.0.1:$port/api/needs_setup"
done
sleep 1
echo "after 200 requests: $(grep VmRSS /proc/$pid/status)"
