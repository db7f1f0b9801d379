#!/usr/bin/env bash
# Proves the embedder builds and runs on wasm32: builds axon-wasm for Node and runs
# wasm/tests/node/embed.test.mjs, which checks token ids and vectors of both bundled
# models against embed/tests/fixtures/ and the error path on damaged models.
#
#   bash scripts/test-wasm.sh
#
# Installs what is missing: the rust target wasm32-unknown-unknown, the wasm-bindgen
# CLI of exactly the version in Cargo.lock (`cargo install`, a few minutes cold),
# the models (scripts/fetch-model.sh all), and Node 20 when the machine's is older than
# 20.19 (wasm_ensure_node).
# Exits non-zero on any failure or mismatch.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/wasm-common.sh

wasm_ensure_node
wasm_install_tools
bash scripts/fetch-model.sh all
bash scripts/build-wasm-node.sh
node --test wasm/tests/node/embed.test.mjs
