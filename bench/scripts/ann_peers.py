#!/usr/bin/env python3
"""hnswlib, faiss (IndexHNSWFlat) and usearch on the same .fvecs/.ivecs files: Axon's HNSW peers.

Reads base.fvecs, query.fvecs and groundtruth.ivecs
(and attrs.jsonl for filtered search) from --dir, e.g. /tmp/axon-hnsw-bench
(`axon-bench hnsw`, --metric l2) or /tmp/axon-minilm (make_minilm_dataset.py,
--metric ip or cos). Each peer runs in a child process of its own, so that the
RSS growth of its build is its own and the libraries' thread pools do not meet:

* hnswlib   space l2/ip/cosine, M=16, ef_construction=200, add_items(num_threads=1)
* faiss     IndexHNSWFlat(d, 16, METRIC_L2 or METRIC_INNER_PRODUCT), efConstruction
            =200, faiss.omp_set_num_threads(1); for cos the vectors are normalised
            with faiss.normalize_L2 first (and queries too)
* usearch   Index(metric l2sq/ip/cos, dtype f32, connectivity=16, expansion_add=200),
            add(threads=1)

For each: the build time on one thread and the RSS growth of the process during
the build (VmRSS from /proc/self/status), then for each ef of --efs recall@10
against groundtruth.ivecs and QPS two ways, both on one thread:

* loop:  one search call per query from a Python loop, as Axon is measured;
         it also pays the interpreter and binding overhead (a few microseconds)
* batch: one call with all queries on one thread (the library's C++ loop)

QPS is the best of --rounds timed passes after one untimed pass (the untimed pass
gives the recall). "at recall" reports the first ef reaching 0.95 and 0.99 and the
QPS interpolated linearly in recall between it and the ef before.

Filtered search (hnswlib and faiss; needs attrs.jsonl with "bucket" 0..999): for
each selectivity s of --selectivities the filter is bucket < s*1000. The exact
filtered top-10 is computed with numpy (float32 scan, float64 re-rank). Methods:

* post:    over-fetch k' = min(n, ceil(--overfetch * k/s)) (default overfetch 1)
           with ef = max(--filter-ef, k'), keep the first k results that pass the
           filter (the numpy filtering is timed)
* native:  hnswlib's knn_query(filter=callable) (a Python callable called per
           candidate) and faiss SearchParametersHNSW(sel=IDSelectorBitmap), both
           with ef = --filter-ef and k = 10

reporting recall@10 (found among the exact filtered top-10, over min(10, matches)),
the mean number of results and QPS (best of --filter-rounds passes after an
untimed one), for loop and batch.

    pip install hnswlib faiss-cpu usearch numpy
    python3 bench/scripts/ann_peers.py --dir /tmp/axon-minilm --metric ip [--out FILE]
    python3 bench/scripts/ann_peers.py --dir /tmp/axon-hnsw-bench --metric l2 [--out FILE]

--out appends one JSON line per peer ("bench": "ann-peer-<name>").
"""

import argparse
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]
SELECTIVITIES = [0.001, 0.01, 0.1, 0.5, 1.0]
K = 10
M = 16
EF_CONSTRUCTION = 200
PEERS = ["hnswlib", "faiss", "usearch"]
DIST = {"hnswlib": "hnswlib", "faiss": "faiss-cpu", "usearch": "usearch"}


def version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def log(msg):
    print(msg, flush=True)


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    dim = int(raw[0])
    rows = raw.reshape(-1, dim + 1)
    assert (rows[:, 0] == dim).all(), f"{path}: rows of different lengths"
    return np.ascontiguousarray(rows[:, 1:]).view(dtype)


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def recall(found, gt):
    hits = sum(len(set(f[:K]) & set(g[:K])) for f, g in zip(found.tolist(), gt.tolist()))
    return hits / (len(gt) * K)


def at_recall(rows, target):
    """First row reaching target as (ef, recall, qps), and QPS interpolated
    linearly in recall between it and the row before."""
    for i, r in enumerate(rows):
        if r[1] >= target:
            if i == 0 or r[1] == rows[i - 1][1]:
                return r, r[2]
            p = rows[i - 1]
            return r, p[2] + (r[2] - p[2]) * (target - p[1]) / (r[1] - p[1])
    return None, None


def best_of(fn, rounds):
    """One untimed pass (its result is returned), then the best time of `rounds` passes."""
    out, _ = fn()
    return out, min(fn()[1] for _ in range(rounds))


def exact_topk(base, queries, metric, ids, k, block=20000):
    """Exact top-k of queries among base[ids] (float32 scan, float64 re-rank of 4k
    candidates, ties to the smaller id). Returns a list of id arrays."""
    sub = base[ids]
    kk = min(len(ids), 4 * k)
    cand = np.empty((len(queries), 0), dtype=np.int64)
    cand_s = np.empty((len(queries), 0), dtype=np.float32)
    norms = (sub.astype(np.float64) ** 2).sum(1) if metric == "l2" else None
    for s in range(0, len(ids), block):
        part = sub[s : s + block]
        score = queries @ part.T
        if metric == "l2":
            score = 2 * score - norms[s : s + block].astype(np.float32)  # larger is closer
        kb = min(kk, score.shape[1])
        top = np.argpartition(-score, kb - 1, axis=1)[:, :kb]
        cand = np.concatenate([cand, top + s], axis=1)
        cand_s = np.concatenate([cand_s, np.take_along_axis(score, top, 1)], axis=1)
        if cand.shape[1] > kk:
            t = np.argpartition(-cand_s, kk - 1, axis=1)[:, :kk]
            cand = np.take_along_axis(cand, t, 1)
            cand_s = np.take_along_axis(cand_s, t, 1)
    sub64 = sub.astype(np.float64)
    out = []
    for i, q in enumerate(queries.astype(np.float64)):
        c = np.sort(cand[i])
        if metric == "l2":
            score = -((sub64[c] - q) ** 2).sum(1)
        else:
            score = sub64[c] @ q
        o = np.lexsort((c, -score))[: min(k, len(c))]
        out.append(ids[c[o]])
    return out


# ---------------------------------------------------------------- peers

class Hnswlib:
    name = "hnswlib"

    def __init__(self, metric, dim, n):
        import hnswlib

        space = {"l2": "l2", "ip": "ip", "cos": "cosine"}[metric]
        self.index = hnswlib.Index(space=space, dim=dim)
        self.index.init_index(max_elements=n, M=M, ef_construction=EF_CONSTRUCTION, random_seed=100)
        self.index.set_num_threads(1)
        self.params = {"space": space, "M": M, "ef_construction": EF_CONSTRUCTION, "random_seed": 100}

    def build(self, base):
        self.index.add_items(base, np.arange(len(base)), num_threads=1)

    def set_ef(self, ef):
        self.index.set_ef(ef)

    def search_one(self, q, k, filt=None):
        labels, _ = self.index.knn_query(q, k=k, num_threads=1, filter=filt)
        return labels[0]

    def search_batch(self, qs, k, filt=None):
        labels, _ = self.index.knn_query(qs, k=k, num_threads=1, filter=filt)
        return labels

    def native_filter(self, mask):
        allowed = mask.tolist()
        return lambda label: allowed[label]


class Faiss:
    name = "faiss"

    def __init__(self, metric, dim, n):
        import faiss

        self.faiss = faiss
        faiss.omp_set_num_threads(1)
        mt = faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT
        self.index = faiss.IndexHNSWFlat(dim, M, mt)
        self.index.hnsw.efConstruction = EF_CONSTRUCTION
        self.params = {"index": "IndexHNSWFlat", "M": M, "efConstruction": EF_CONSTRUCTION,
                       "metric": "METRIC_L2" if metric == "l2" else "METRIC_INNER_PRODUCT",
                       "normalised": metric == "cos", "omp_threads": 1}
        self.ef = 16

    def build(self, base):
        self.index.add(base)

    def set_ef(self, ef):
        self.ef = ef
        self.index.hnsw.efSearch = ef

    def _params(self, filt):
        return self.faiss.SearchParametersHNSW(sel=filt[0], efSearch=self.ef) if filt is not None else None

    def search_one(self, q, k, filt=None):
        _, labels = self.index.search(q[None, :], k, params=self._params(filt))
        return labels[0]

    def search_batch(self, qs, k, filt=None):
        _, labels = self.index.search(qs, k, params=self._params(filt))
        return labels

    def native_filter(self, mask):
        bits = np.packbits(mask.astype(np.uint8), bitorder="little")
        return (self.faiss.IDSelectorBitmap(len(mask), self.faiss.swig_ptr(bits)), bits)  # keep bits alive


class Usearch:
    name = "usearch"

    def __init__(self, metric, dim, n):
        from usearch.index import Index

        m = {"l2": "l2sq", "ip": "ip", "cos": "cos"}[metric]
        self.index = Index(ndim=dim, metric=m, dtype="f32", connectivity=M, expansion_add=EF_CONSTRUCTION,
                           expansion_search=64)
        self.params = {"metric": m, "dtype": "f32", "connectivity": M, "expansion_add": EF_CONSTRUCTION,
                       "threads": 1}

    def build(self, base):
        self.index.add(np.arange(len(base), dtype=np.uint64), base, threads=1)

    def set_ef(self, ef):
        self.index.expansion_search = ef

    def search_one(self, q, k, filt=None):
        return self.index.search(q, k, threads=1).keys

    def search_batch(self, qs, k, filt=None):
        return self.index.search(qs, k, threads=1).keys

    native_filter = None


# ---------------------------------------------------------------- one peer

def run_peer(a, name):
    base = read_vecs(os.path.join(a.dir, "base.fvecs"), np.float32)
    queries = read_vecs(os.path.join(a.dir, "query.fvecs"), np.float32)
    gt = read_vecs(os.path.join(a.dir, "groundtruth.ivecs"), np.int32)
    n, dim = base.shape
    nq = len(queries)
    cls = {"hnswlib": Hnswlib, "faiss": Faiss, "usearch": Usearch}[name]
    if name == "faiss" and a.metric == "cos":
        import faiss

        base, queries = base.copy(), queries.copy()
        faiss.normalize_L2(base)
        faiss.normalize_L2(queries)
    ver = version(DIST[name])
    log(f"== {name} {ver} (numpy {np.__version__}, Python {platform.python_version()}): {n} base vectors, "
        f"{nq} queries, {dim}-d; {a.metric}; M=16, ef_construction=200, 1 thread; recall@{K}, "
        f"QPS best of {a.rounds} passes")

    rss0 = status_kib("VmRSS")
    peer = cls(a.metric, dim, n)
    t = time.perf_counter()
    peer.build(base)
    build_s = time.perf_counter() - t
    rss1 = status_kib("VmRSS")
    log(f"{name}: build {build_s:.2f} s ({n / build_s:.0f} inserts/s); RSS {rss0 / 1024:.0f} -> "
        f"{rss1 / 1024:.0f} MiB (+{(rss1 - rss0) / 1024:.0f} MiB for the index)")

    def loop_pass(k=K, filt=None, post=None):
        out = []
        t = time.perf_counter()
        for i in range(nq):
            r = peer.search_one(queries[i], k, filt)
            out.append(post(r) if post else r)
        return out, time.perf_counter() - t

    def batch_pass(k=K, filt=None, post=None):
        t = time.perf_counter()
        r = peer.search_batch(queries, k, filt)
        r = post(r) if post else r
        return r, time.perf_counter() - t

    results = {}
    for mode, fn in (("loop", loop_pass), ("batch", batch_pass)):
        rows = []
        for ef in a.efs:
            peer.set_ef(ef)
            found, s = best_of(fn, a.rounds)
            rows.append((ef, recall(np.asarray(found), gt), nq / s))
        results[mode] = rows

    log(f"{name}: {'ef':>5} {'recall@10':>10} {'QPS loop':>10} {'QPS batch':>10} {'us/q batch':>10}")
    for (ef, rec, qloop), (_, rec_b, qbatch) in zip(results["loop"], results["batch"]):
        if abs(rec - rec_b) > 1e-9:
            log(f"{name}: note: ef={ef}: loop recall {rec:.4f} != batch recall {rec_b:.4f}")
        log(f"{name}: {ef:>5} {rec:>10.4f} {qloop:>10.0f} {qbatch:>10.0f} {1e6 / qbatch:>10.1f}")
    targets = []
    for target in (0.95, 0.99):
        for mode in ("loop", "batch"):
            r, q = at_recall(results[mode], target)
            if r is None:
                log(f"{name}: recall@10 >= {target} ({mode}): not reached by ef={a.efs[-1]}")
                targets.append({"target": target, "mode": mode, "reached": False})
            else:
                log(f"{name}: recall@10 >= {target} ({mode}): first at ef={r[0]} (recall {r[1]:.4f}, "
                    f"{r[2]:.0f} QPS); interpolated {q:.0f} QPS")
                targets.append({"target": target, "mode": mode, "ef": r[0], "recall": r[1], "qps": r[2],
                                "qps_interpolated": q})

    filtered = []
    attrs_path = os.path.join(a.dir, "attrs.jsonl")
    if a.selectivities and peer.native_filter is not None and os.path.exists(attrs_path):
        with open(attrs_path) as f:
            bucket = np.array([json.loads(line)["bucket"] for line in f], dtype=np.int32)
        assert len(bucket) == n, f"attrs.jsonl has {len(bucket)} rows for {n} vectors"
        log(f"{name}: filtered search, filter bucket < s*1000, --filter-ef {a.filter_ef}, "
            f"QPS best of {a.filter_rounds} passes")
        log(f"{name}: {'sel':>6} {'matches':>7} {'method':>7} {'k_fetch':>7} {'ef':>6} {'recall@10':>10} "
            f"{'results':>7} {'QPS loop':>9} {'QPS batch':>9}")
        for sel in a.selectivities:
            mask = bucket < int(round(sel * 1000))
            ids = np.flatnonzero(mask)
            fgt = exact_topk(base, queries, "l2" if a.metric == "l2" else "ip", ids, K)
            kf = min(n, math.ceil(a.overfetch * K / sel - 1e-9))

            def post_one(r, mask=mask):
                r = np.asarray(r)
                r = r[r >= 0]
                return r[mask[r]][:K]

            def post_batch(r, mask=mask):
                r = np.asarray(r)
                ok = (r >= 0) & mask[np.where(r >= 0, r, 0)]
                order = np.argsort(~ok, axis=1, kind="stable")[:, :K]
                picked = np.take_along_axis(r, order, 1)
                okp = np.take_along_axis(ok, order, 1)
                return [row[m] for row, m in zip(picked, okp)]

            nat = peer.native_filter(mask)
            for method, k_fetch, ef, filt, posts in (
                ("post", kf, max(a.filter_ef, kf), None, (post_one, post_batch)),
                ("native", min(K, len(ids)), a.filter_ef, nat, (None, None)),
            ):
                peer.set_ef(ef)
                row = {"selectivity": sel, "matches": int(len(ids)), "method": method, "k_fetch": k_fetch, "ef": ef}
                for mode, fn, post in (("loop", loop_pass, posts[0]), ("batch", batch_pass, posts[1])):
                    try:
                        found, s = best_of(lambda: fn(k_fetch, filt, post), a.filter_rounds)
                    except RuntimeError as e:  # hnswlib: fewer than k results
                        row[mode] = {"error": str(e)}
                        continue
                    found = [np.asarray(f)[np.asarray(f) >= 0][:K] for f in found]
                    hits = sum(len(set(f.tolist()) & set(g.tolist())) for f, g in zip(found, fgt))
                    row[mode] = {"recall": hits / sum(min(K, len(g)) for g in fgt),
                                 "mean_results": float(np.mean([len(f) for f in found])), "qps": nq / s}
                filtered.append(row)

                def fmt(m):
                    return f"{row[m]['qps']:>9.0f}" if "qps" in row.get(m, {}) else f"{'error':>9}"
                ref = row.get("batch") if "recall" in row.get("batch", {}) else row.get("loop", {})
                log(f"{name}: {sel:>6} {len(ids):>7} {method:>7} {k_fetch:>7} {ef:>6} "
                    f"{ref.get('recall', float('nan')):>10.4f} {ref.get('mean_results', float('nan')):>7.2f} "
                    f"{fmt('loop')} {fmt('batch')}")

    return {
        "bench": f"ann-peer-{name}",
        "unix_time": int(time.time()),
        "params": {"n": n, "dim": dim, "queries": nq, "k": K, "metric": a.metric, "threads": 1,
                   "rounds": a.rounds, "filter_rounds": a.filter_rounds, "qps": "best of rounds",
                   "peer": name, "version": ver, "numpy": np.__version__, "data_dir": a.dir,
                   "filter_ef": a.filter_ef, "overfetch": a.overfetch, **peer.params},
        "results": {"build_s": build_s, "rss_before_kib": rss0, "rss_after_build_kib": rss1,
                    "rows": {m: [{"ef": r[0], "recall": r[1], "qps": r[2]} for r in rows]
                             for m, rows in results.items()},
                    "at_recall": targets, "filtered": filtered},
    }


def summary(recs):
    log("\n== summary (QPS on one thread; @R: first ef reaching recall R, QPS interpolated)")
    log(f"{'peer':>8} {'build s':>8} {'+RSS MiB':>8} {'ef@.95':>6} {'QPS@.95 loop':>12} {'QPS@.95 batch':>13} "
        f"{'ef@.99':>6} {'QPS@.99 loop':>12} {'QPS@.99 batch':>13}")
    for r in recs:
        res = r["results"]
        t = {(x["target"], x["mode"]): x for x in res["at_recall"]}

        def q(target, mode):
            x = t[(target, mode)]
            return f"{x['qps_interpolated']:.0f}" if x.get("reached", True) else "n/r"

        def ef(target):
            x = t[(target, "batch")]
            return str(x["ef"]) if x.get("reached", True) else "n/r"
        log(f"{r['params']['peer']:>8} {res['build_s']:>8.1f} "
            f"{(res['rss_after_build_kib'] - res['rss_before_kib']) / 1024:>8.0f} {ef(0.95):>6} "
            f"{q(0.95, 'loop'):>12} {q(0.95, 'batch'):>13} {ef(0.99):>6} {q(0.99, 'loop'):>12} {q(0.99, 'batch'):>13}")
    if any(r["results"]["filtered"] for r in recs):
        log(f"\n{'peer':>8} {'sel':>6} {'method':>7} {'ef':>6} {'recall':>7} {'results':>7} {'QPS loop':>9} "
            f"{'QPS batch':>9}")
        for r in recs:
            for f in r["results"]["filtered"]:
                b = f.get("batch", {}) if "recall" in f.get("batch", {}) else f.get("loop", {})
                lq = f"{f['loop']['qps']:.0f}" if "qps" in f.get("loop", {}) else "error"
                bq = f"{f['batch']['qps']:.0f}" if "qps" in f.get("batch", {}) else "error"
                log(f"{r['params']['peer']:>8} {f['selectivity']:>6} {f['method']:>7} {f['ef']:>6} "
                    f"{b.get('recall', float('nan')):>7.4f} {b.get('mean_results', float('nan')):>7.2f} "
                    f"{lq:>9} {bq:>9}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="/tmp/axon-minilm")
    ap.add_argument("--metric", choices=["ip", "l2", "cos"], required=True)
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of " + ",".join(PEERS))
    ap.add_argument("--efs", default=",".join(map(str, EFS)))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--selectivities", default=",".join(map(str, SELECTIVITIES)),
                    help="filtered-search selectivities; '' to skip")
    ap.add_argument("--filter-ef", type=int, default=64)
    ap.add_argument("--filter-rounds", type=int, default=2)
    ap.add_argument("--overfetch", type=float, default=1.0, help="post-filter fetches overfetch*k/s results")
    ap.add_argument("--out", help="append one JSON line per peer to this file")
    ap.add_argument("--child", help=argparse.SUPPRESS)  # internal: run one peer, write JSON here
    ap.add_argument("--peer", help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.efs = [int(x) for x in a.efs.split(",") if x]
    a.selectivities = [float(x) for x in a.selectivities.split(",") if x]

    if a.child:
        rec = run_peer(a, a.peer)
        with open(a.child, "w") as f:
            json.dump(rec, f)
        return

    recs = []
    for name in [p for p in a.peers.split(",") if p]:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tf:
            path = tf.name
        argv = [sys.executable, os.path.abspath(__file__), *sys.argv[1:], "--child", path, "--peer", name]
        r = subprocess.run(argv)
        if r.returncode != 0:
            log(f"{name}: child exited with {r.returncode}")
            continue
        with open(path) as f:
            rec = json.load(f)
        os.unlink(path)
        recs.append(rec)
        if a.out:
            with open(a.out, "a") as f:
                f.write(json.dumps(rec) + "\n")
    summary(recs)


if __name__ == "__main__":
    main()
