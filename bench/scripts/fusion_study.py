#!/usr/bin/env python3
"""Fusion studied offline on `axon-bench kb-eval --dump FILE` output.

Each line of the dump is one labelled question with its text (BM25) and exact
vector lists, 1,000 deep, as `[source, start, end, score]`, and `text_title`,
BM25 over the same passages each prefixed with its page's title line. This
prints hit@5 and MRR@10 (overall and per kind) for the single lists, for
relative-score fusion (min-max, max, z-score and 3-sigma "DBSF" normalisation,
several depths and text weights), for RRF at several constants, and the
oracle: per question the better of the two lists' ranks, an upper bound for
any fusion that only reorders what the lists return.

    python3 bench/scripts/fusion_study.py /tmp/dump.jsonl
"""
import json
import math
import sys

rows = [json.loads(line) for line in open(sys.argv[1])]
rows = [q for q in rows if q["span"] is not None]

def is_hit(q, p):
    s, e = q["span"]
    return p[0] == q["source"] and p[1] < e and p[2] > s

def key(p): return (p[0], p[1], p[2])

def measure(rank_fn, name):
    h5 = mrr = 0.0
    kinds = {}
    for q in rows:
        lst = rank_fn(q)
        r = next((i for i, p in enumerate(lst[:10]) if is_hit(q, p)), None)
        a = 1.0 if r is not None and r < 5 else 0.0
        b = 1.0 / (r + 1) if r is not None else 0.0
        h5 += a; mrr += b
        k = kinds.setdefault(q["kind"], [0, 0, 0]); k[0] += a; k[1] += b; k[2] += 1
    n = len(rows)
    per = " ".join(f"{k}:{v[0]/v[2]:.3f}/{v[1]/v[2]:.3f}" for k, v in sorted(kinds.items()))
    print(f"{name:38s} hit@5 {h5/n:.3f} MRR@10 {mrr/n:.3f}  {per}")
    return mrr / n

def single(leg):
    return lambda q: q[leg]

def rrf(legs, ws, c=60, depth=50):
    def f(q):
        sc = {}
        for leg, w in zip(legs, ws):
            for i, p in enumerate(q[leg][:depth]):
                sc[key(p)] = sc.get(key(p), 0) + w / (c + i + 1)
        return [list(k) for k, _ in sorted(sc.items(), key=lambda x: -x[1])]
    return f

def norm(lst, how):
    if not lst: return {}
    xs = [p[3] for p in lst]
    if how == "minmax":
        lo, hi = min(xs), max(xs)
        return {key(p): (p[3] - lo) / (hi - lo) if hi > lo else 1.0 for p in lst}
    if how == "max":
        hi = max(xs)
        return {key(p): p[3] / hi if hi > 0 else 0 for p in lst}
    if how == "z":
        m = sum(xs) / len(xs); sd = math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs)) or 1
        return {key(p): (p[3] - m) / sd for p in lst}
    if how == "dbsf":
        m = sum(xs) / len(xs); sd = math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs)) or 1
        lo, hi = m - 3 * sd, m + 3 * sd
        return {key(p): (p[3] - lo) / (hi - lo) for p in lst}

def rel(legs, ws, depth=50, how="minmax", missing=0.0):
    def f(q):
        sc = {}
        ns = [norm(q[leg][:depth], how) for leg in legs]
        allk = set().union(*ns)
        for k in allk:
            sc[k] = sum(w * n.get(k, missing) for n, w in zip(ns, ws))
        return [list(k) for k, _ in sorted(sc.items(), key=lambda x: -x[1])]
    return f

def rank(q, leg):
    return next((i for i, p in enumerate(q[leg]) if is_hit(q, p)), None)


def oracle():
    mrr = 0.0
    cells = {}
    for q in rows:
        rv, rt = rank(q, "vector"), rank(q, "text")
        top = [r for r in (rv, rt) if r is not None and r < 10]
        mrr += 1.0 / (min(top) + 1) if top else 0.0
        cell = ("vector" if rv is not None and rv < 10 else "-") + "/" + ("text" if rt is not None and rt < 10 else "-")
        cells[cell] = cells.get(cell, 0) + 1
    print(f"oracle (better rank of the two lists) MRR@10 {mrr / len(rows):.3f}; answer in the top 10 of {cells}")


oracle()
measure(single("vector"), "vector")
measure(single("text"), "text")
if rows[0].get("text_title"):
    measure(single("text_title"), "text_title")
for d in [10, 20, 50, 100, 1000]:
    for w in [0.3, 0.4, 0.5, 0.6]:
        measure(rel(["vector", "text"], [1 - w, w], depth=d), f"rel minmax d{d} w{w}")
for how in ["max", "z", "dbsf"]:
    for d in [20, 50, 1000]:
        for w in [0.3, 0.4, 0.5]:
            measure(rel(["vector", "text"], [1 - w, w], depth=d, how=how), f"rel {how} d{d} w{w}")
for c in [1, 5, 10, 20, 60]:
    for w in [0.3, 0.5]:
        measure(rrf(["vector", "text"], [1 - w, w], c=c), f"rrf c{c} w{w}")
if rows[0].get("text_title"):
    for d in [20, 50, 1000]:
        for w in [0.3, 0.4, 0.5]:
            measure(rel(["vector", "text_title"], [1 - w, w], depth=d), f"rel title d{d} w{w}")
