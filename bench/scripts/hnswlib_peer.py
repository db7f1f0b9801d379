#!/usr/bin/env python3
"""hnswlib on the dataset that `axon-bench hnsw` writes: the peer of Axon's HNSW.

Reads base.fvecs, query.fvecs and groundtruth.ivecs from --dir (default
/tmp/axon-hnsw-bench), builds an hnswlib index (space='l2', M=16,
ef_construction=200, one thread), timing the build, then for each ef of the
list measures recall@10 and QPS two ways, both on one thread:

* loop:  knn_query on one query at a time from a Python loop, as Axon is
  measured (one call per query). Each call also pays the interpreter and the
  pybind11/numpy boundary (a few microseconds), so this understates hnswlib.
* batch: one knn_query call with all queries and num_threads=1: the C++ loop,
  no per-query Python overhead.

QPS is the best of --rounds timed passes (default 5) after one untimed pass
(as in `axon-bench hnsw`: interference on a shared machine only slows passes). The RSS
growth of the process during the build is reported from /proc/self/status.

    pip install hnswlib numpy
    python3 bench/scripts/hnswlib_peer.py [--dir DIR] [--rounds R] [--out FILE]
"""

import argparse
import importlib.metadata
import json
import os
import platform
import time

import numpy as np
import hnswlib

try:
    VERSION = importlib.metadata.version("hnswlib")
except importlib.metadata.PackageNotFoundError:
    VERSION = "?"

EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256]
K = 10


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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="/tmp/axon-hnsw-bench")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", help="append one JSON line of results to this file")
    a = ap.parse_args()

    base = read_vecs(os.path.join(a.dir, "base.fvecs"), np.float32)
    queries = read_vecs(os.path.join(a.dir, "query.fvecs"), np.float32)
    gt = read_vecs(os.path.join(a.dir, "groundtruth.ivecs"), np.int32)
    n, dim = base.shape
    nq = len(queries)
    print(
        f"== hnswlib {VERSION} (numpy {np.__version__}, Python {platform.python_version()}): "
        f"{n} base vectors, {nq} queries, {dim}-d; l2, M=16, ef_construction=200, 1 thread; "
        f"recall@{K}, QPS best of {a.rounds} passes"
    )

    rss0 = status_kib("VmRSS")
    index = hnswlib.Index(space="l2", dim=dim)
    index.init_index(max_elements=n, M=16, ef_construction=200, random_seed=100)
    index.set_num_threads(1)
    t = time.perf_counter()
    index.add_items(base, np.arange(n), num_threads=1)
    build_s = time.perf_counter() - t
    rss1 = status_kib("VmRSS")
    print(
        f"hnswlib: build {build_s:.2f} s ({n / build_s:.0f} inserts/s); RSS {rss0 / 1024:.0f} -> {rss1 / 1024:.0f} MiB "
        f"(+{(rss1 - rss0) / 1024:.0f} MiB for the index)"
    )

    def loop_pass():
        out = np.empty((nq, K), dtype=np.int64)
        t = time.perf_counter()
        for i in range(nq):
            labels, _ = index.knn_query(queries[i], k=K, num_threads=1)
            out[i] = labels[0]
        return out, time.perf_counter() - t

    def batch_pass():
        t = time.perf_counter()
        labels, _ = index.knn_query(queries, k=K, num_threads=1)
        return labels, time.perf_counter() - t

    results = {}
    for mode, fn in (("loop", loop_pass), ("batch", batch_pass)):
        rows = []
        for ef in EFS:
            index.set_ef(ef)
            found, _ = fn()  # warm-up
            rec = recall(found, gt)
            s = min(fn()[1] for _ in range(a.rounds))
            rows.append((ef, rec, nq / s))
        results[mode] = rows

    print(f"hnswlib: {'ef':>5} {'recall@10':>10} {'QPS loop':>10} {'QPS batch':>10} {'us/q batch':>10}")
    for (ef, rec, qloop), (_, rec_b, qbatch) in zip(results["loop"], results["batch"]):
        assert abs(rec - rec_b) < 1e-9, "loop and batch found different results"
        print(f"hnswlib: {ef:>5} {rec:>10.4f} {qloop:>10.0f} {qbatch:>10.0f} {1e6 / qbatch:>10.1f}")
    targets = []
    for target in (0.95, 0.99):
        for mode in ("loop", "batch"):
            r, q = at_recall(results[mode], target)
            if r is None:
                print(f"hnswlib: recall@10 >= {target} ({mode}): not reached by ef={EFS[-1]}")
                targets.append({"target": target, "mode": mode, "reached": False})
            else:
                print(
                    f"hnswlib: recall@10 >= {target} ({mode}): first at ef={r[0]} (recall {r[1]:.4f}, "
                    f"{r[2]:.0f} QPS); interpolated {q:.0f} QPS"
                )
                targets.append(
                    {"target": target, "mode": mode, "ef": r[0], "recall": r[1], "qps": r[2], "qps_interpolated": q}
                )
    if a.out:
        rec = {
            "bench": "hnsw-hnswlib",
            "unix_time": int(time.time()),
            "params": {"n": n, "dim": dim, "queries": nq, "k": K, "metric": "l2", "m": 16, "ef_construction": 200,
                       "threads": 1, "rounds": a.rounds, "qps": "best of rounds", "hnswlib": VERSION,
                       "data_dir": a.dir},
            "results": {"build_s": build_s, "rss_before_kib": rss0, "rss_after_build_kib": rss1,
                        "rows": {m: [{"ef": r[0], "recall": r[1], "qps": r[2]} for r in rows]
                                 for m, rows in results.items()},
                        "at_recall": targets},
        }
        with open(a.out, "a") as f:
            f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
