#!/usr/bin/env bash
# Builds the webhook fuzz target with libFuzzer's coverage instrumentation (stable flags, the
# same cargo-fuzz passes without a sanitizer) and runs it for SECONDS (default 300) on a copy
# of the seed corpus. Usage: fuzz/run.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/buzon/fuzz-target}"
target="$(rustc -vV | awk '/^host:/ {print $2}')"
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions" \
  cargo build --release --target "$target"
work="$(mktemp -d)"
cp corpus/webhooks/* "$work/"
"$CARGO_TARGET_DIR/$target/release/webhooks" "$work" -max_total_time="${1:-300}" -max_len=4096
