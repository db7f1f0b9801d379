#!/usr/bin/env python3
"""Sentence-embedding throughput of onnxruntime: the reference point for axon-embed.

    python3 bench/scripts/embed_ort.py --model models/all-MiniLM-L6-v2 \
        --sentences /tmp/axon-embed-sentences.txt [--batch 32] [--threads N] [--limit N] [--repeat R]

The model directory is one that `bash scripts/fetch-model.sh` fills: model.onnx,
tokenizer.json and axon-model.json. The sentence file has one sentence per line;
`bench/scripts/embed_sentences.py` writes one. The script needs
`pip install onnxruntime tokenizers numpy`.

It does what axon-embed does, using onnxruntime on the CPU:
  - tokenize with tokenizer.json, padding off, truncation at axon-model.json's
    max_tokens (counting [CLS]/[SEP]);
  - cut the sentences into batches of --batch, in file order, each padded to its
    own longest sentence;
  - run the model (intra_op_num_threads=--threads, default all cores; one
    inter-op thread);
  - take the mean of the token states under the mask, then L2-normalise.
The inputs and the token-state output are found as in scripts/make-embed-fixtures.py:
token_type_ids (zeros) only if the graph has it, and the only float output of
rank 3.

Timing. Session creation is reported on its own as load_s and is not in seconds.
One warm-up batch (the first) runs before timing. "seconds" covers tokenizing
(one sentence at a time, on one thread), padding, inference and pooling of all
sentences. tokenize_s is the tokenizing part of it. cpu_s is this process's CPU time
over the same pass: about seconds x threads when the cores were free, and less when
other work shared them. With --repeat R the whole pass
runs R times: seconds is the fastest pass, and seconds_runs lists every pass.

Prints one JSON line on stdout.
"""

import argparse
import json
import os
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="model directory")
    ap.add_argument("--sentences", required=True, help="file, one sentence per line")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--limit", type=int, default=0, help="use only the first N sentences")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()

    with open(os.path.join(args.model, "axon-model.json")) as f:
        meta = json.load(f)
    max_tokens = int(meta["max_tokens"])
    with open(args.sentences, encoding="utf-8") as f:
        sentences = [line.rstrip("\n") for line in f]
    if args.limit:
        sentences = sentences[: args.limit]
    if not sentences:
        raise SystemExit("embed_ort: no sentences")

    tok = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_tokens)

    t0 = time.perf_counter()
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(os.path.join(args.model, "model.onnx"), so, providers=["CPUExecutionProvider"])
    load_s = time.perf_counter() - t0
    inputs = {i.name for i in sess.get_inputs()}
    rank3 = [o.name for o in sess.get_outputs() if o.type == "tensor(float)" and len(o.shape) == 3]
    assert len(rank3) == 1, rank3
    token_output = rank3[0]

    def embed(batch_ids):
        s = max(len(x) for x in batch_ids)
        ids = np.zeros((len(batch_ids), s), dtype=np.int64)
        mask = np.zeros((len(batch_ids), s), dtype=np.int64)
        for i, x in enumerate(batch_ids):
            ids[i, : len(x)] = x
            mask[i, : len(x)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        h = sess.run([token_output], feed)[0]
        m = mask[:, :, None].astype(np.float32)
        v = (h * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12), int(ids.size)

    batches = [sentences[i : i + args.batch] for i in range(0, len(sentences), args.batch)]
    embed([tok.encode(s).ids for s in batches[0]])  # warm-up, not timed

    runs, tok_runs, cpu_runs = [], [], []
    tokens = padded = 0
    for _ in range(max(1, args.repeat)):
        tokens = padded = 0
        tok_s = 0.0
        c0 = time.process_time()
        t0 = time.perf_counter()
        for b in batches:
            t1 = time.perf_counter()
            ids = [tok.encode(s).ids for s in b]
            tok_s += time.perf_counter() - t1
            tokens += sum(len(x) for x in ids)
            vecs, n = embed(ids)
            padded += n
        runs.append(time.perf_counter() - t0)
        cpu_runs.append(time.process_time() - c0)
        tok_runs.append(tok_s)
    best = int(np.argmin(runs))
    seconds = runs[best]
    print(json.dumps({
        "runtime": "onnxruntime",
        "version": ort.__version__,
        "model": meta.get("name", os.path.basename(os.path.normpath(args.model))),
        "threads": args.threads,
        "batch": args.batch,
        "sentences": len(sentences),
        "tokens": tokens,
        "padded_tokens": padded,
        "max_tokens": max_tokens,
        "seconds": round(seconds, 4),
        "sentences_per_s": round(len(sentences) / seconds, 1),
        "tokens_per_s": round(tokens / seconds, 1),
        "tokenize_s": round(tok_runs[best], 4),
        "cpu_s": round(cpu_runs[best], 4),
        "load_s": round(load_s, 4),
        "repeat": len(runs),
        "seconds_runs": [round(r, 4) for r in runs],
    }))


if __name__ == "__main__":
    main()
