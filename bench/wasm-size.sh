#!/usr/bin/env bash
# Sizes of the browser bundle in target/site/pkg (raw, gzip -9, brotli q11).
set -euo pipefail
cd "$(dirname "$0")/.."
for f in target/site/pkg/buzon*.wasm target/site/pkg/buzon*.js target/site/pkg/buzon*.css; do
  [ -f "$f" ] || continue
  node -e '
    const fs = require("fs"), zlib = require("zlib");
    const f = process.argv[1], b = fs.readFileSync(f);
    const br = zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } });
    const gz = zlib.gzipSync(b, { level: 9 });
    const kb = (n) => (n / 1024).toFixed(1) + " KB";
    console.log(`${f}: raw ${kb(b.length)}, gzip ${kb(gz.length)}, brotli ${kb(br.length)}`);
  ' "$f"
done
