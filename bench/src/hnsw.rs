//! `hnsw`: Axon's in-memory HNSW graph on a synthetic clustered dataset, the
//! baseline that `bench/scripts/ann_peers.py` measures hnswlib (and faiss, usearch) against.
//!
//! The dataset is deterministic: `--n` base vectors (default 100,000) and
//! 1,000 queries of `--dim` dimensions (default 128), drawn from the same
//! mixture of 100 Gaussian clusters. Each cluster has its own centre, scale
//! and a decaying per-coordinate spread (coordinate `j` has standard
//! deviation `scale / (1 + (j + shift) mod dim)^(1/4)`, `shift` per
//! cluster), so points are elongated in different directions per cluster and
//! the effective dimension is below `dim` (about 87 of 128 by the
//! participation ratio). The exponent was tuned so that recall@10 spans
//! 0.7-1.0 over the measured `ef` range at 100k points: a steeper decay (1/2)
//! made the data too easy (0.96 at ef=10 on 20k points). The exact
//! top-10 of every query (squared L2, brute force) is the ground truth.
//!
//! Base, queries and ground truth are written as `.fvecs`/`.ivecs` (each
//! record: a little-endian `i32` count, then the values) under
//! `/tmp/axon-hnsw-bench/`. The graph is built with `M = 16`,
//! `ef_construction = 200`, one thread, timing the build; then for each `ef`
//! all queries are run one at a time on one thread for QPS and recall@10.
//! QPS is the best of `--rounds` timed passes (default 5) after one untimed
//! pass: on a shared machine, interference only ever slows a pass down, so
//! the fastest pass is the closest to the uncontended speed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use axon_core::model::Metric;
use axon_core::vector::distance::l2_squared;
use axon_core::vector::hnsw::{Hnsw, HnswParams};
use serde_json::json;

use crate::data::Rng;
use crate::Ctx;

/// Where the dataset files go (the peer script reads them there).
pub const DATA_DIR: &str = "/tmp/axon-hnsw-bench";
const CLUSTERS: usize = 100;
const QUERIES: usize = 1000;
const K: usize = 10;
/// The `ef` values measured (the peer script uses the same list).
pub const EFS: [usize; 10] = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256];

/// A standard normal sample (Box-Muller; one of the pair is dropped).
fn gauss(rng: &mut Rng) -> f64 {
    let u = 1.0 - rng.next_f64(); // (0, 1]
    let v = rng.next_f64();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

pub struct Cluster {
    centre: Vec<f32>,
    /// Standard deviation per coordinate.
    sd: Vec<f32>,
}

pub fn clusters(dim: usize, rng: &mut Rng) -> Vec<Cluster> {
    (0..CLUSTERS)
        .map(|_| {
            let centre = (0..dim).map(|_| gauss(rng) as f32).collect();
            let scale = 0.5 + rng.next_f64(); // 0.5 .. 1.5
            let shift = rng.below(dim as u64) as usize;
            let sd = (0..dim).map(|j| (scale / ((1 + (j + shift) % dim) as f64).powf(0.25)) as f32).collect();
            Cluster { centre, sd }
        })
        .collect()
}

/// `count` points of the mixture, row-major.
pub fn sample(cs: &[Cluster], dim: usize, count: usize, rng: &mut Rng) -> Vec<f32> {
    let mut out = Vec::with_capacity(count * dim);
    for _ in 0..count {
        let c = &cs[rng.below(cs.len() as u64) as usize];
        out.extend((0..dim).map(|j| c.centre[j] + c.sd[j] * gauss(rng) as f32));
    }
    out
}

/// Exact top-`K` (by squared L2, ties by id) of every query. Blocks of the
/// base stay in cache while all queries pass over them.
fn ground_truth(base: &[f32], queries: &[f32], dim: usize) -> Vec<Vec<u32>> {
    let n = base.len() / dim;
    let mut top: Vec<Vec<(f32, u32)>> = vec![Vec::with_capacity(K + 1); queries.len() / dim];
    const BLOCK: usize = 2048;
    for start in (0..n).step_by(BLOCK) {
        let end = (start + BLOCK).min(n);
        for (qi, t) in top.iter_mut().enumerate() {
            let q = &queries[qi * dim..(qi + 1) * dim];
            for i in start..end {
                let d = l2_squared(q, &base[i * dim..(i + 1) * dim]);
                if t.len() < K || d < t[K - 1].0 {
                    let pos = t.partition_point(|e| e.0 <= d);
                    t.insert(pos, (d, i as u32));
                    t.truncate(K);
                }
            }
        }
    }
    top.into_iter().map(|t| t.into_iter().map(|e| e.1).collect()).collect()
}

fn write_fvecs(path: &Path, data: &[f32], dim: usize) {
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display())),
    );
    for row in data.chunks_exact(dim) {
        w.write_all(&(dim as i32).to_le_bytes()).expect("write");
        for x in row {
            w.write_all(&x.to_le_bytes()).expect("write");
        }
    }
    w.flush().expect("flush");
}

fn write_ivecs(path: &Path, rows: &[Vec<u32>]) {
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display())),
    );
    for row in rows {
        w.write_all(&(row.len() as i32).to_le_bytes()).expect("write");
        for x in row {
            w.write_all(&(*x as i32).to_le_bytes()).expect("write");
        }
    }
    w.flush().expect("flush");
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`), 0 if unknown.
pub fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Mean recall@K of `found` against `gt`.
fn recall(found: &[Vec<u32>], gt: &[Vec<u32>]) -> f64 {
    let hits: usize = found.iter().zip(gt).map(|(f, g)| f.iter().filter(|x| g.contains(x)).count()).sum();
    hits as f64 / (gt.len() * K) as f64
}

/// Runs every query once; returns the results and the seconds taken.
fn pass(h: &Hnsw, queries: &[f32], dim: usize, ef: usize) -> (Vec<Vec<u32>>, f64) {
    let t = Instant::now();
    let found: Vec<Vec<u32>> = queries
        .chunks_exact(dim)
        .map(|q| h.search(q, K, ef, None).expect("query of the index's dimension").into_iter().map(|r| r.0).collect())
        .collect();
    (found, t.elapsed().as_secs_f64())
}

/// The first measured point whose recall reaches `target`, as
/// `(ef, recall, qps)`, and the QPS interpolated (linearly in recall between
/// it and the point before) at exactly `target`.
pub fn at_recall(rows: &[(usize, f64, f64)], target: f64) -> Option<((usize, f64, f64), f64)> {
    let i = rows.iter().position(|r| r.1 >= target)?;
    let r = rows[i];
    let qps = if i == 0 || r.1 == rows[i - 1].1 {
        r.2
    } else {
        let p = rows[i - 1];
        p.2 + (r.2 - p.2) * (target - p.1) / (r.1 - p.1)
    };
    Some((r, qps))
}

pub fn run(ctx: &Ctx) {
    let n = ctx.args.n.unwrap_or(100_000) as usize;
    let dim = ctx.args.dim.unwrap_or(128);
    let rounds = ctx.args.rounds;
    let dir = PathBuf::from(DATA_DIR);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    println!(
        "== hnsw: {n} base vectors + {QUERIES} queries, {dim}-d, {CLUSTERS} Gaussian clusters; L2, M=16, \
         ef_construction=200, 1 thread; recall@{K}, QPS best of {rounds} passes"
    );

    let t = Instant::now();
    let mut rng = Rng::new(0x4E5C ^ ((n as u64) << 16) ^ dim as u64);
    let cs = clusters(dim, &mut rng);
    let base = sample(&cs, dim, n, &mut rng);
    let queries = sample(&cs, dim, QUERIES, &mut rng);
    let gen_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let gt = ground_truth(&base, &queries, dim);
    let gt_s = t.elapsed().as_secs_f64();
    write_fvecs(&dir.join("base.fvecs"), &base, dim);
    write_fvecs(&dir.join("query.fvecs"), &queries, dim);
    write_ivecs(&dir.join("groundtruth.ivecs"), &gt);
    println!(
        "hnsw: data generated in {gen_s:.1} s, exact ground truth (brute force, 1 thread) in {gt_s:.1} s; \
         written to {}/{{base,query}}.fvecs, groundtruth.ivecs",
        dir.display()
    );

    let rss0 = status_kib("VmRSS");
    let params = HnswParams::new(dim, Metric::L2);
    let mut h = Hnsw::new(params);
    let t = Instant::now();
    for row in base.chunks_exact(dim) {
        h.insert(row).expect("finite vector of the index's dimension");
    }
    let build_s = t.elapsed().as_secs_f64();
    let rss1 = status_kib("VmRSS");
    println!(
        "hnsw: axon build {build_s:.2} s ({:.0} inserts/s); RSS {:.0} -> {:.0} MiB (+{:.0} MiB for the index, \
         raw vectors are {:.0} MiB)",
        n as f64 / build_s,
        mib(rss0),
        mib(rss1),
        mib(rss1.saturating_sub(rss0)),
        (n * dim * 4) as f64 / 1048576.0
    );

    // The same graph built with `insert_batch`, finding links on every core.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let map = axon::parallel::threaded_map(threads);
    let refs: Vec<&[f32]> = base.chunks_exact(dim).collect();
    let mut hb = Hnsw::new(params);
    let t = Instant::now();
    hb.insert_batch(&refs, Some(&map)).expect("finite vectors of the index's dimension");
    let batch_s = t.elapsed().as_secs_f64();
    let batch_recall: Vec<String> = [32usize, 48, 64]
        .iter()
        .map(|&ef| format!("ef {ef}: {:.4}", recall(&pass(&hb, &queries, dim, ef).0, &gt)))
        .collect();
    println!(
        "hnsw: axon batch build on {threads} threads {batch_s:.2} s ({:.2}x the one-at-a-time build); recall {}",
        build_s / batch_s,
        batch_recall.join(", ")
    );
    drop(hb);

    println!("hnsw: {:>5} {:>10} {:>10} {:>10}", "ef", "recall@10", "QPS", "us/query");
    let mut rows = Vec::new();
    for ef in EFS {
        let (found, _) = pass(&h, &queries, dim, ef); // warm-up
        let rec = recall(&found, &gt);
        let s = (0..rounds).map(|_| pass(&h, &queries, dim, ef).1).fold(f64::INFINITY, f64::min);
        let qps = QUERIES as f64 / s;
        println!("hnsw: {ef:>5} {rec:>10.4} {qps:>10.0} {:>10.1}", s / QUERIES as f64 * 1e6);
        rows.push((ef, rec, qps));
    }
    let mut targets = Vec::new();
    for target in [0.95, 0.99] {
        match at_recall(&rows, target) {
            Some(((ef, rec, qps), interp)) => {
                println!(
                    "hnsw: recall@10 >= {target}: first at ef={ef} (recall {rec:.4}, {qps:.0} QPS); \
                     interpolated {interp:.0} QPS"
                );
                targets
                    .push(json!({"target": target, "ef": ef, "recall": rec, "qps": qps, "qps_interpolated": interp}));
            }
            None => {
                println!("hnsw: recall@10 >= {target}: not reached by ef={}", EFS[EFS.len() - 1]);
                targets.push(json!({"target": target, "reached": false}));
            }
        }
    }
    ctx.record(
        "hnsw",
        json!({"n": n, "dim": dim, "queries": QUERIES, "k": K, "clusters": CLUSTERS, "metric": "l2",
               "m": params.m, "ef_construction": params.ef_construction, "threads": 1,
               "rounds": rounds, "qps": "best of rounds",
               "data": "synthetic clustered (deterministic)", "data_dir": DATA_DIR}),
        json!({"build_s": build_s, "inserts_per_s": n as f64 / build_s, "ground_truth_s": gt_s,
               "rss_before_kib": rss0, "rss_after_build_kib": rss1,
               "rows": rows.iter().map(|r| json!({"ef": r.0, "recall": r.1, "qps": r.2})).collect::<Vec<_>>(),
               "at_recall": targets}),
    );
}
