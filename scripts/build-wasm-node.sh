#!/usr/bin/env bash
# Builds axon-wasm for wasm32-unknown-unknown and runs wasm-bindgen on it for Node
# (CommonJS, `--target nodejs`), into wasm/pkg-node/ (git-ignored by wasm/.gitignore).
#
#   bash scripts/build-wasm-node.sh [OUT_DIR]
#
# The build uses the wasm-release profile and the wasm32 rustflags (simd128) of
# wasm/.cargo/config.toml. It needs the rust target wasm32-unknown-unknown and the
# wasm-bindgen CLI of exactly the version in Cargo.lock; scripts/test-wasm.sh
# installs both. $AXON_WASM_PROFILE picks another cargo profile (e.g. dev, for a
# quick debug build).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-${AXON_WASM_PKG:-wasm/pkg-node}}
PROFILE=${AXON_WASM_PROFILE:-wasm-release}
TARGET=wasm32-unknown-unknown

die() {
  echo "build-wasm-node: $*" >&2
  exit 1
}

# The wasm-bindgen version Cargo.lock holds: the CLI must match it exactly.
WANT=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$WANT" ] || die "no wasm-bindgen in Cargo.lock"
HAVE=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
[ "$HAVE" = "$WANT" ] ||
  die "wasm-bindgen CLI ${HAVE:-missing}, need $WANT: cargo install wasm-bindgen-cli --version $WANT --locked (or run scripts/test-wasm.sh)"

case $PROFILE in
dev) DIR=debug ;;
*) DIR=$PROFILE ;;
esac

start=$(date +%s)
cargo --config wasm/.cargo/config.toml build -p axon-wasm --target "$TARGET" --profile "$PROFILE"
echo "build-wasm-node: cargo build ($PROFILE) took $(($(date +%s) - start)) s" >&2

WASM=target/$TARGET/$DIR/axon_wasm.wasm
[ -f "$WASM" ] || die "cargo did not write $WASM"
rm -rf "$OUT"
wasm-bindgen --target nodejs --out-dir "$OUT" "$WASM"
size=$(stat -c %s "$OUT/axon_wasm_bg.wasm")
gz=$(gzip -9 -c "$OUT/axon_wasm_bg.wasm" | wc -c)
echo "build-wasm-node: $OUT/axon_wasm_bg.wasm: $size bytes, $gz gzipped" >&2
