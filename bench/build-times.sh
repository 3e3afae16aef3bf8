#!/usr/bin/env bash
# Wall time of the test command, cold (empty build cache) then warm. Tools already installed
# (wasm-opt, Chromium, the rustup target and components) are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
cold="$(mktemp -d)"
trap 'rm -rf "$cold"' EXIT
start=$(date +%s); CARGO_TARGET_DIR="$cold" scripts/test >/dev/null; mid=$(date +%s)
CARGO_TARGET_DIR="$cold" scripts/test >/dev/null; end=$(date +%s)
echo "cold: $((mid - start)) s, warm: $((end - mid)) s"
