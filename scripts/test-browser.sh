#!/usr/bin/env bash
# The axondb npm package in headless Chromium: builds the package
# (scripts/build-npm.sh), bundles it with Vite, and runs
# wasm/tests/browser/browser.test.mjs (conformance suite on OPFS in a dedicated
# worker, end to end unbundled and bundled, SIGKILL of the browser, two tabs, the
# knowledge store on the real model against the native embedder, bad input, a
# natively written database opened in the browser).
#
#   bash scripts/test-browser.sh
#
# Installs what is missing: Debian's chromium (apt-get; a test tool's own browser
# download does not work offline), the wasm32 target and the wasm-bindgen CLI, npm
# packages playwright-core and vite (pinned in wasm/tests/*/package.json), the models,
# and Node 20 when the machine's is older than 20.19 (Vite 7 needs it).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/wasm-common.sh

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "test-browser: installing chromium (apt-get)" >&2
  [ "$(id -u)" = 0 ] || wasm_die "chromium is missing and apt-get needs root: apt-get install chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

wasm_install_tools
wasm_ensure_node
bash scripts/fetch-model.sh all
bash scripts/build-npm.sh

echo "test-browser: npm install (playwright-core, vite) and vite build" >&2
(cd wasm/tests/browser && npm install --no-audit --no-fund --loglevel=error)
(cd wasm/tests/vite && npm install --no-audit --no-fund --loglevel=error --install-links && npx vite build --logLevel warn)

# The native CLI writes the database the browser opens, and embeds the texts the
# browser's vectors are compared with.
# The test profile (target/debug), as the Rust tests build it: nothing new to compile
# after `cargo test`.
cargo build -q --profile test -p axon --bin axon
AXON_BIN=${AXON_BIN:-${CARGO_TARGET_DIR:-target}/debug/axon} node --test --test-concurrency=1 wasm/tests/browser/browser.test.mjs
