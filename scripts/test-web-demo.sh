#!/usr/bin/env bash
# The web demo in headless Chromium (web-demo/tests/demo.test.mjs): builds the
# axondb package (a no-op rebuild after scripts/test-browser.sh) and the demo, then runs
# the page end to end at a desktop and a phone viewport. Screenshots and the
# exported JSONL land in web-demo/test-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/wasm-common.sh
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  [ "$(id -u)" = 0 ] || wasm_die "chromium is missing and apt-get needs root: apt-get install chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
wasm_install_tools
wasm_ensure_node
bash scripts/fetch-model.sh
bash scripts/build-npm.sh
cd web-demo
npm install --no-audit --no-fund --loglevel=error --install-links
npm run build --silent
node --test --test-concurrency=1 tests/demo.test.mjs
