#!/usr/bin/env bash
# Builds the `axondb` npm package into wasm/pkg/ (git-ignored): the wasm-bindgen
# output for browsers (`--target web`, ESM), the package's own ES modules from wasm/js/
# (index.js: the main-thread API; worker.js: the dedicated worker that owns OPFS),
# TypeScript types, package.json and README.md.
#
#   bash scripts/build-npm.sh [--no-embedder] [OUT_DIR]
#
# --no-embedder leaves out the ONNX embedder and the knowledge store (a much smaller
# .wasm; openKnowledgeStore then rejects saying so). Installs what is missing: the
# rust target wasm32-unknown-unknown and the wasm-bindgen CLI of the version in
# Cargo.lock (`cargo install`, a few minutes cold; scripts/wasm-common.sh). Prints the
# .wasm size, raw and gzipped.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/wasm-common.sh

FEATURES=default
if [ "${1:-}" = --no-embedder ]; then
  FEATURES=none
  shift
fi
OUT=${1:-wasm/pkg}
VERSION=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)

wasm_install_tools
wasm_cargo_build "$FEATURES"
rm -rf "$OUT"
wasm-bindgen --target web --out-dir "$OUT" "$WASM"
cp wasm/js/index.js wasm/js/worker.js wasm/js/index.d.ts "$OUT"/
cp wasm/js/README.md "$OUT"/README.md
sed "s/@VERSION@/$VERSION/" wasm/js/package.json >"$OUT"/package.json
echo "build-npm: $OUT/axon_wasm_bg.wasm ($FEATURES features): $(wasm_sizes "$OUT/axon_wasm_bg.wasm")" >&2
