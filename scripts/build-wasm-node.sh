#!/usr/bin/env bash
# Builds axon-wasm for wasm32-unknown-unknown and runs wasm-bindgen on it for Node
# (CommonJS, `--target nodejs`), into wasm/pkg-node/ (git-ignored by wasm/.gitignore).
#
#   bash scripts/build-wasm-node.sh [OUT_DIR]
#
# It installs what is missing: the rust target wasm32-unknown-unknown and the
# wasm-bindgen CLI of exactly the version in Cargo.lock (scripts/wasm-common.sh). The cargo build is
# the one scripts/build-npm.sh uses (scripts/wasm-common.sh), so building both
# compiles once.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/wasm-common.sh

OUT=${1:-${AXON_WASM_PKG:-wasm/pkg-node}}
wasm_install_tools
wasm_cargo_build
rm -rf "$OUT"
wasm-bindgen --target nodejs --out-dir "$OUT" "$WASM"
echo "build-wasm-node: $OUT/axon_wasm_bg.wasm: $(wasm_sizes "$OUT/axon_wasm_bg.wasm")" >&2
