#!/usr/bin/env bash
# Sizes of the browser bundle in target/site/pkg (raw, gzip -9, brotli q11): the module every
# page loads (buzon.wasm), the JS and CSS, and the pieces `--split` took out of it, which a page
# fetches when it first needs them (`bench/lcp.sh` says which ones the inbox fetches).
set -euo pipefail
cd "$(dirname "$0")/.."
node -e '
  const fs = require("fs"), zlib = require("zlib"), path = require("path");
  const dir = "target/site/pkg";
  const kb = (n) => (n / 1024).toFixed(1) + " KB";
  const files = fs.readdirSync(dir).filter((f) => /\.(wasm|js|css)$/.test(f)).sort();
  let split = 0;
  for (const f of files) {
    const b = fs.readFileSync(path.join(dir, f));
    const br = zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } });
    const gz = zlib.gzipSync(b, { level: 9 });
    if (!f.startsWith("buzon")) { split += br.length; }
    if (f.startsWith("buzon") || br.length > 16 * 1024) {
      console.log(`${f}: raw ${kb(b.length)}, gzip ${kb(gz.length)}, brotli ${kb(br.length)}`);
    }
  }
  console.log(`split out, all pieces together: brotli ${kb(split)}`);
'
