#!/usr/bin/env bash
# Proves the embedder builds and runs on wasm32: builds axon-wasm for Node and runs
# wasm/tests/node/embed.test.mjs, which checks token ids and vectors of both bundled
# models against embed/tests/fixtures/ and the error path on damaged models.
#
#   bash scripts/test-wasm.sh
#
# Installs what is missing: the rust target wasm32-unknown-unknown, the wasm-bindgen
# CLI of exactly the version in Cargo.lock (`cargo install`, a few minutes cold),
# and the models (scripts/fetch-model.sh all). Needs Node >= 18 (node:test).
# Exits non-zero on any failure or mismatch.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=wasm32-unknown-unknown

die() {
  echo "test-wasm: $*" >&2
  exit 1
}

command -v node >/dev/null || die "node is not installed (need Node >= 18)"
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 18 ] || die "node $(node --version) is too old (need >= 18 for node:test)"

if ! rustup target list --installed | grep -qx "$TARGET"; then
  echo "test-wasm: rustup target add $TARGET" >&2
  rustup target add "$TARGET"
fi

WANT=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$WANT" ] || die "no wasm-bindgen in Cargo.lock"
HAVE=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$HAVE" != "$WANT" ]; then
  echo "test-wasm: installing wasm-bindgen-cli $WANT (have: ${HAVE:-none})" >&2
  # --locked uses the CLI's own lock file. If a crate it pins is unavailable (a yanked
  # or unmirrored version), fall back to a fresh resolution of the same CLI version.
  cargo install wasm-bindgen-cli --version "$WANT" --locked ||
    {
      echo "test-wasm: cargo install --locked failed; retrying without --locked" >&2
      cargo install wasm-bindgen-cli --version "$WANT"
    }
fi

bash scripts/fetch-model.sh all

bash scripts/build-wasm-node.sh

node --test wasm/tests/node/embed.test.mjs
