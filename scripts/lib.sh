# Shared by scripts/run and scripts/test: the toolchain pieces Buzón builds with, each installed
# only when missing or at the wrong version, so a warm machine pays nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# The build cache lives outside the clone, so a fresh clone on a warm machine builds quickly.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/buzon/target}"
export PATH="$HOME/.cargo/bin:$PATH"
mkdir -p "$CARGO_TARGET_DIR"

say() { printf '\033[1;36m==>\033[0m %s\n' "$*"; }

# The toolchain pinned in rust-toolchain.toml, with its components and the WASM target.
need_toolchain() {
  if ! rustc --version >/dev/null 2>&1; then
    say "installing the pinned Rust toolchain"
    rustup toolchain install
  fi
}

need_wasm_target() {
  need_toolchain
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

need_wasm_opt() {
  if ! command -v wasm-opt >/dev/null; then
    say "installing wasm-opt (npm binaryen)"
    npm install -g binaryen
  fi
}

need_rust_src() {
  if [ ! -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library/std" ]; then
    say "adding the rust-src component (the browser's release build compiles std for size)"
    rustup component add rust-src
  fi
}

# bundle/ (`buzon-bundle`) builds the browser's bundle into target/site: the frontend crate for
# WASM, its lazy-loaded chunks, the JavaScript bindings, the stylesheet and the public assets.
# It is compiled with the quick-release profile, whose dependencies the server shares.
bundle() {
  need_wasm_target
  need_wasm_opt
  cargo build --profile quick-release -p bundle
  "$CARGO_TARGET_DIR/quick-release/buzon-bundle" "$@"
}

# The browser's release bundle: built with its own standard library, compiled for size, with
# panics that stop at once and without the source locations panics would have named (the
# inbox's first module went from 351.3 to 321.2 KB brotli; docs/bundle-size.md lists every such
# measure), shrunk by wasm-opt, with brotli and gzip copies at the highest levels.
release_frontend() {
  need_rust_src
  bundle --release --split --precompress
}

# The production build: the browser's bundle and the server with the full release profile
# (link-time optimisation across crates, one codegen unit), $CARGO_TARGET_DIR/release/buzon.
release_build() {
  release_frontend
  cargo build --release -p server
}

# What `scripts/run` starts: the same browser bundle, and the server and the sandbox with the
# `quick-release` profile ($CARGO_TARGET_DIR/quick-release/): optimised, but without the
# release profile's link-time optimisation, so a first run compiles in a fraction of the time.
run_build() {
  release_frontend
  cargo build --profile quick-release -p server -p sandbox
}

# The browser's first module must stay within 250 KB brotli (docs/bundle-size.md).
BUNDLE_BUDGET_KB=250
check_bundle_budget() {
  node -e '
    const fs = require("fs"), zlib = require("zlib");
    const wasm = fs.readFileSync("target/site/pkg/buzon.wasm");
    const br = zlib.brotliCompressSync(wasm, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } });
    const kb = br.length / 1024, budget = Number(process.argv[1]);
    console.log(`buzon.wasm: ${kb.toFixed(1)} KB brotli (budget ${budget} KB)`);
    if (kb > budget) { console.error("the browser bundle is over its budget"); process.exit(1); }
  ' "$BUNDLE_BUDGET_KB"
}
