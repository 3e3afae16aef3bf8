# Shared by scripts/run and scripts/test: the toolchain pieces Buzón builds with, each installed
# only when missing or at the wrong version, so a warm machine pays nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# The build cache lives outside the clone, so a fresh clone on a warm machine builds quickly.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/buzon/target}"
export PATH="$HOME/.cargo/bin:$PATH"
mkdir -p "$CARGO_TARGET_DIR"

CARGO_LEPTOS_VERSION="0.3.10"
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/"/, "", $3); print $3; exit}' Cargo.lock)"

say() { printf '\033[1;36m==>\033[0m %s\n' "$*"; }

need_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

have_cargo_leptos() {
  command -v cargo-leptos >/dev/null && cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION"
}

need_cargo_leptos() {
  if ! have_cargo_leptos; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 20 minutes, once)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi
}

have_wasm_bindgen() {
  command -v wasm-bindgen >/dev/null && wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"
}

need_wasm_bindgen() {
  if ! have_wasm_bindgen; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 6 minutes, once)"
    # --locked can ask for a dependency version the registry no longer has; retry without.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked \
      || cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
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

# The release build, into target/site and $CARGO_TARGET_DIR/release/buzon. The browser's
# bundle is built with its own standard library, compiled for size, with panics that stop at
# once instead of formatting a message and without the source locations panics would have
# named: the inbox's first module goes from 351.3 to 321.2 KB brotli. Those options are
# unstable; the one installed toolchain (stable) takes them through RUSTC_BOOTSTRAP for the
# browser's release build only, while the server and every test build stay on plain stable. A
# target's rustflags replace `[build] rustflags` instead of adding to them, hence
# `erase_components` again (see .cargo/config.toml).
release_build() {
  need_build_tools
  need_rust_src
  RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--cfg erase_components -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none" \
    cargo leptos build --release --precompress --split --frontend-only \
    --lib-cargo-args=-Zbuild-std=std,panic_abort --lib-cargo-args=-Zbuild-std-features=optimize_for_size
  cargo leptos build --release --precompress --split --server-only
}

# Everything `cargo leptos build` needs.
need_build_tools() {
  need_wasm_target
  need_cargo_leptos
  need_wasm_bindgen
  need_wasm_opt
}
