//! `instant-distance`: the `instant-distance` crate (0.6) on the same
//! dataset files as `vectors`, as the baseline the vector-search issue
//! names. Built on one thread (rayon's global pool set to one thread); M is
//! fixed at 32 by the crate and `ef_search` is fixed when the index is
//! built, so each value of `--ef-list` (default 64) is a separate build.
//! Distances use Axon's own kernels (squared L2, or `1 - dot` for `dot` and
//! `cosine` on the unit-length MiniLM vectors), so the comparison is of the
//! index, not of the distance code.

use std::time::Instant;

use axon_core::vector::distance::{dot, l2_squared};
use instant_distance::{Builder, Point, Search};
use serde_json::json;

use crate::hnsw::at_recall;
use crate::vectors::read_vecs;
use crate::Ctx;

const K: usize = 10;

#[derive(Clone)]
struct P {
    v: Vec<f32>,
    l2: bool,
}

impl Point for P {
    fn distance(&self, other: &Self) -> f32 {
        if self.l2 {
            l2_squared(&self.v, &other.v)
        } else {
            1.0 - dot(&self.v, &other.v)
        }
    }
}

pub fn run(ctx: &Ctx) {
    let data = ctx.args.data.clone().unwrap_or_else(|| crate::hnsw::DATA_DIR.into());
    let metric = ctx.args.metric.clone().unwrap_or_else(|| "l2".into());
    let l2 = metric == "l2";
    let (dim, base) = read_vecs(&data.join("base.fvecs"), usize::MAX, f32::from_le_bytes);
    let (_, queries) = read_vecs(&data.join("query.fvecs"), usize::MAX, f32::from_le_bytes);
    let (gt_dim, gt) = read_vecs(&data.join("groundtruth.ivecs"), usize::MAX, i32::from_le_bytes);
    let gt: Vec<Vec<u32>> = gt.chunks_exact(gt_dim).map(|r| r[..K].iter().map(|&x| x as u32).collect()).collect();
    let n = base.len() / dim;
    let qs: Vec<P> = queries.chunks_exact(dim).map(|q| P { v: q.to_vec(), l2 }).collect();
    let _ = rayon::ThreadPoolBuilder::new().num_threads(1).build_global();
    // `--ef-list` chooses the builds (each takes minutes: the crate builds
    // about 10x slower than hnswlib on one thread).
    let efs: Vec<usize> = ctx.args.ef_list.clone().unwrap_or_else(|| vec![64]);
    println!(
        "== instant-distance 0.6: {} ({n} base, {} queries, {dim}-d, {metric}); ef_construction=200, 1 thread",
        data.display(),
        qs.len()
    );
    let mut rows = Vec::new();
    let mut builds = Vec::new();
    for ef in efs {
        let points: Vec<P> = base.chunks_exact(dim).map(|v| P { v: v.to_vec(), l2 }).collect();
        let values: Vec<u32> = (0..n as u32).collect();
        let t = Instant::now();
        let map = Builder::default().ef_construction(200).ef_search(ef).seed(42).build(points, values);
        let build_s = t.elapsed().as_secs_f64();
        let mut search = Search::default();
        let mut pass = || {
            let t = Instant::now();
            let found: Vec<Vec<u32>> =
                qs.iter().map(|q| map.search(q, &mut search).take(K).map(|item| *item.value).collect()).collect();
            (found, t.elapsed().as_secs_f64())
        };
        let (found, _) = pass();
        let hits: usize = found.iter().zip(&gt).map(|(f, g)| f.iter().filter(|x| g.contains(x)).count()).sum();
        let rec = hits as f64 / (gt.len() * K) as f64;
        let s = (0..ctx.args.rounds).map(|_| pass().1).fold(f64::INFINITY, f64::min);
        let qps = qs.len() as f64 / s;
        println!("instant-distance: ef_search {ef}: build {build_s:.1} s; recall@10 {rec:.4}; {qps:.0} QPS");
        rows.push((ef, rec, qps));
        builds.push(json!({"ef_search": ef, "build_s": build_s, "recall": rec, "qps": qps}));
    }
    let targets: Vec<_> = [0.95, 0.99]
        .iter()
        .map(|&t| match at_recall(&rows, t) {
            Some(((ef, rec, qps), interp)) => {
                json!({"target": t, "ef": ef, "recall": rec, "qps": qps, "qps_interpolated": interp})
            }
            None => json!({"target": t, "reached": false}),
        })
        .collect();
    ctx.record(
        "instant-distance",
        json!({"data": data, "n": n, "dim": dim, "queries": qs.len(), "k": K, "metric": metric, "m": 32,
               "ef_construction": 200, "threads": 1, "rounds": ctx.args.rounds}),
        json!({"builds": builds, "at_recall": targets}),
    );
}
