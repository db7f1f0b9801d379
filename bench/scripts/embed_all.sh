#!/usr/bin/env bash
# The embedding benchmarks in one run, one after another on the same inputs:
#
#   1. throughput on one sentence file: onnxruntime (embed_ort.py), axon-bench
#      embed (tract, native; file order and length-sorted) at each thread count,
#      and axon-wasm under Node (embed_wasm.mjs, one thread) if its package is built;
#   2. retrieval quality on the demo corpus: axon-bench kb-eval per model
#      (bench/data/kb-questions.jsonl);
#   3. end-to-end adds: axon-bench kb-add per model on Debian's git-doc text files,
#      at each texts-per-embedder-call setting.
#
#   bash bench/scripts/embed_all.sh
#
# Every result is one JSON line, appended to bench/results.jsonl (git-ignored)
# with "bench" ("embed", "kb-eval", "kb-add") and "unix_time" added; a table of
# this run is printed at the end. Not part of CI: about 20-30 minutes on 2 cores.
# Run it on an idle machine: every figure is CPU-bound.
#
# Settings (environment):
#   MODELS      model directories (default: models/all-MiniLM-L6-v2 models/paraphrase-MiniLM-L3-v2)
#   SENTENCES   sentence file (default /tmp/axon-embed-sentences.txt, made by
#               embed_sentences.py if missing, N lines, default 2000)
#   LIMIT       use only the first LIMIT sentences (default: all)
#   THREADS     thread counts for the throughput runs (default "1 2")
#   REPEAT      passes per throughput run, fastest reported (default 1)
#   KB_DIR      kb-add corpus (default Debian's git-doc, unpacked under
#               /tmp/axon-models/debs/git-doc; fetched with apt-get download if missing)
#   KB_ADD_LIMIT  files of KB_DIR to add (default 100, about 0.9 MB; 0 = all)
#   KB_BATCHES  KbOptions::batch_size values for kb-add (default "32 64": 32 is the
#               default, one model batch per call, so one core; 64 lets 2 threads work)
#   OUT         results file (default bench/results.jsonl)
#   SKIP        any of: ort native wasm kb-eval kb-add (space-separated) to leave out
set -euo pipefail
cd "$(dirname "$0")/../.."

MODELS=${MODELS:-models/all-MiniLM-L6-v2 models/paraphrase-MiniLM-L3-v2}
SENTENCES=${SENTENCES:-/tmp/axon-embed-sentences.txt}
N=${N:-2000}
LIMIT=${LIMIT:-0}
THREADS=${THREADS:-1 2}
REPEAT=${REPEAT:-1}
DEBS=/tmp/axon-models/debs
KB_DIR=${KB_DIR:-$DEBS/git-doc/usr/share/doc/git-doc}
KB_ADD_LIMIT=${KB_ADD_LIMIT:-100}
KB_BATCHES=${KB_BATCHES:-256 32}
OUT=${OUT:-bench/results.jsonl}
SKIP=${SKIP:-}
WASM_PKG=${AXON_WASM_PKG:-wasm/pkg-node}
RUN=$(mktemp /tmp/axon-embed-all.XXXXXX.jsonl)

skip() { [[ " $SKIP " == *" $1 "* ]]; }
say() { echo "== $*" >&2; }

# Runs a command that prints JSON lines; tags each with the bench name and time,
# appends it to $OUT and to this run's file, and echoes it.
record() {
  local bench=$1
  shift
  echo "+ $*" >&2
  "$@" | python3 -c '
import json, sys, time
bench, run, out = sys.argv[1:4]
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        continue
    rec = {"bench": bench, "unix_time": int(time.time()), **json.loads(line)}
    rec["bench"] = bench
    text = json.dumps(rec, ensure_ascii=False)
    for path in (run, out):
        with open(path, "a", encoding="utf-8") as f:
            f.write(text + "\n")
    print(text, flush=True)
' "$bench" "$RUN" "$OUT"
}

for m in $MODELS; do
  [ -f "$m/model.onnx" ] || { echo "embed_all: no $m/model.onnx: bash scripts/fetch-model.sh all" >&2; exit 1; }
done
if [ ! -s "$SENTENCES" ]; then
  python3 bench/scripts/embed_sentences.py --n "$N" --out "$SENTENCES"
fi
if ! skip ort; then
  python3 -c 'import onnxruntime, tokenizers, numpy' 2>/dev/null || pip install --quiet onnxruntime tokenizers numpy
fi
cargo build --release -p axon-bench
BENCH=./target/release/axon-bench
LIMIT_ARGS=()
[ "$LIMIT" != 0 ] && LIMIT_ARGS=(--limit "$LIMIT")

say "throughput on $SENTENCES (${LIMIT/#0/all} sentences, batch 32)"
for m in $MODELS; do
  for t in $THREADS; do
    skip ort || record embed python3 bench/scripts/embed_ort.py --model "$m" --sentences "$SENTENCES" \
      --batch 32 --threads "$t" --repeat "$REPEAT" "${LIMIT_ARGS[@]}"
    skip native || record embed "$BENCH" embed --model "$m" --sentences "$SENTENCES" --batch 32 \
      --threads "$t" --order both --repeat "$REPEAT" "${LIMIT_ARGS[@]}"
  done
  if ! skip wasm; then
    if [ -f "$WASM_PKG/axon_wasm.js" ]; then
      record embed node bench/scripts/embed_wasm.mjs --model "$m" --sentences "$SENTENCES" --batch 32 \
        "${LIMIT_ARGS[@]}"
    else
      say "no $WASM_PKG/axon_wasm.js: wasm skipped (bash scripts/build-wasm-node.sh builds it)"
    fi
  fi
done

if ! skip kb-eval; then
  say "retrieval quality: kb-eval on the demo corpus"
  for m in $MODELS; do
    record kb-eval "$BENCH" kb-eval --model "$m"
  done
fi

if ! skip kb-add; then
  if [ ! -d "$KB_DIR" ] && [ "$KB_DIR" = "$DEBS/git-doc/usr/share/doc/git-doc" ]; then
    say "fetching git-doc (apt-get download) into $DEBS"
    mkdir -p "$DEBS"
    (cd "$DEBS" && ls git-doc_*.deb >/dev/null 2>&1 || apt-get download git-doc)
    dpkg-deb -x "$(ls "$DEBS"/git-doc_*.deb | sort | tail -1)" "$DEBS/git-doc"
  fi
  say "end-to-end adds: kb-add on $KB_DIR (limit $KB_ADD_LIMIT files)"
  for m in $MODELS; do
    for b in $KB_BATCHES; do
      record kb-add "$BENCH" kb-add --model "$m" --dir "$KB_DIR" --limit "$KB_ADD_LIMIT" --kb-batch "$b"
    done
  done
fi

python3 - "$RUN" <<'EOF'
import json, sys

recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]


def table(title, head, rows):
    if not rows:
        return
    rows = [[str(c) for c in r] for r in rows]
    w = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w[i]) for i, h in enumerate(head)))
    print("  ".join("-" * x for x in w))
    for r in rows:
        print("  ".join(c.rjust(w[i]) if i >= 3 else c.ljust(w[i]) for i, c in enumerate(r)))


def g(r, k, fmt="{}"):
    v = r.get(k)
    return "-" if v is None else fmt.format(v)


table(
    "Embedding throughput (batch 32)",
    ["model", "runtime", "order", "threads", "sentences", "sent/s", "tokens/s", "load s"],
    [[r.get("model"), r.get("runtime"), r.get("order", "file"), r.get("threads"), r.get("sentences"),
      g(r, "sentences_per_s", "{:.1f}"), g(r, "tokens_per_s", "{:.0f}"), g(r, "load_s", "{:.2f}")]
     for r in recs if r["bench"] == "embed"],
)
table(
    "Retrieval on the demo corpus (kb-eval, k = 10)",
    ["model", "max_tokens", "chunks", "build s", "src hit@5", "src MRR@10", "psg hit@1", "psg hit@5",
     "psg MRR@10", "query p50 ms", "p95 ms"],
    [[r["model"], r["max_tokens"], r["chunks"], f'{r["build_s"]:.1f}', f'{r["source_hit5"]:.3f}',
      f'{r["source_mrr10"]:.3f}', f'{r["passage_hit1"]:.3f}', f'{r["passage_hit5"]:.3f}',
      f'{r["passage_mrr10"]:.3f}', r["query_ms_p50"], r["query_ms_p95"]]
     for r in recs if r["bench"] == "kb-eval"],
)
table(
    "End-to-end adds (kb-add)",
    ["model", "kb_batch", "threads", "docs", "chunks", "seconds", "docs/s", "chunks/s", "tokens/s", "MB/s",
     "cpu s", "query p50 ms", "p95 ms"],
    [[r["model"], r["kb_batch"], r["threads"], r["documents"], r["chunks"], f'{r["seconds"]:.1f}',
      f'{r["documents_per_s"]:.2f}', f'{r["chunks_per_s"]:.1f}', f'{r["tokens_per_s"]:.0f}',
      f'{r["mb_per_s"]:.3f}', r["cpu_s"], r["query_ms_p50"], r["query_ms_p95"]]
     for r in recs if r["bench"] == "kb-add"],
)
EOF
rm -f "$RUN"
