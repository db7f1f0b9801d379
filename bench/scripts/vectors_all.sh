#!/usr/bin/env bash
# The vector-search benchmark of docs/benchmarks.md in one run: Axon (through
# the database), instant-distance, then hnswlib, faiss-cpu and usearch, one
# after another on the same dataset files. Not part of CI (tens of minutes).
#
#   bash bench/scripts/vectors_all.sh [DATA_DIR] [METRIC]
#
# DATA_DIR defaults to /tmp/axon-minilm (made by make_minilm_dataset.py);
# METRIC is cosine (default), l2 or dot. Results are appended to
# bench/results.jsonl; the console shows every table. PEERS=hnswlib limits
# the Python peers to a subset.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${1:-/tmp/axon-minilm}
METRIC=${2:-cosine}
case "$METRIC" in
  cosine) PEER=cos ;;
  dot) PEER=ip ;;
  l2) PEER=l2 ;;
  *) echo "metric must be cosine, dot or l2" >&2; exit 2 ;;
esac
python3 -c 'import hnswlib, faiss, usearch, numpy' 2>/dev/null \
  || pip install --quiet hnswlib faiss-cpu usearch numpy
cargo build --release -p axon-bench
./target/release/axon-bench vectors --data "$DATA" --metric "$METRIC"
./target/release/axon-bench instant-distance --data "$DATA" --metric "$METRIC" --rounds 3
python3 bench/scripts/ann_peers.py --dir "$DATA" --metric "$PEER" --peers "${PEERS:-hnswlib,faiss,usearch}" --out bench/results.jsonl
