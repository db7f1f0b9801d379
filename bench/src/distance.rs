//! `distance`: the vector distance kernels of `axon-core`, each implementation
//! timed on the same random pairs.
//!
//! For each dimension, a pool of random vectors lives in one contiguous `Vec`
//! and `--n` (default 100k) random pairs of them are fixed in advance; every
//! kernel (`scalar`, `portable`, `avx2+fma` when the CPU has it, and
//! `dispatch` = the public `l2_squared`/`dot`, which pick the fastest) is called
//! once per pair through a function pointer, `--rounds` times; the median ns
//! per call is reported. Two pool sizes: one that stays in cache (the kernels'
//! arithmetic) and one far larger than the last-level cache (memory-bound, as a
//! graph search over a large index is).

use std::hint::black_box;
use std::time::Instant;

use axon_core::vector::distance::{self, Kernel};
use serde_json::json;

use crate::data::Rng;
use crate::{median, Ctx};

const DIMS: [usize; 3] = [128, 384, 768];
/// Bytes of vectors per pool: one that stays in L2 (256 KiB) and one four
/// times the 32 MiB L3 of the machine in docs/benchmarks.md (128 MiB).
const POOLS: [(&str, usize); 2] = [("cached", 256 << 10), ("uncached", 128 << 20)];

type KernelFn = fn(&[f32], &[f32]) -> f32;

/// Calls `f` on every pair; returns ns per call.
#[inline(never)]
fn time(f: KernelFn, pool: &[f32], dim: usize, pairs: &[(u32, u32)]) -> f64 {
    let f = black_box(f);
    let t = Instant::now();
    let mut acc = 0.0f32;
    for &(i, j) in pairs {
        let (i, j) = (i as usize * dim, j as usize * dim);
        acc += f(black_box(&pool[i..i + dim]), black_box(&pool[j..j + dim]));
    }
    let ns = t.elapsed().as_nanos() as f64 / pairs.len().max(1) as f64;
    black_box(acc);
    ns
}

pub fn run(ctx: &Ctx) {
    let n = ctx.args.n.unwrap_or(100_000) as usize;
    let rounds = ctx.args.rounds;
    let mut impls: Vec<Kernel> = distance::kernels();
    impls.push(Kernel { name: "dispatch", l2_squared: distance::l2_squared, dot: distance::dot });
    let names: Vec<&str> = impls.iter().map(|k| k.name).collect();
    println!("distance: {n} random pairs per run, median of {rounds} runs, ns per call; speedup vs scalar in ()");
    println!("distance: implementations: {}", names.join(", "));
    let mut out = Vec::new();
    for (pool_name, pool_bytes) in POOLS {
        for dim in DIMS {
            let pool_len = pool_bytes / (dim * 4);
            let mut rng = Rng::new(0xD15 ^ dim as u64);
            let pool: Vec<f32> = (0..pool_len * dim).map(|_| rng.next_f32()).collect();
            let pairs: Vec<(u32, u32)> =
                (0..n).map(|_| (rng.below(pool_len as u64) as u32, rng.below(pool_len as u64) as u32)).collect();
            for metric in ["l2", "dot"] {
                let fns: Vec<KernelFn> =
                    impls.iter().map(|k| if metric == "l2" { k.l2_squared } else { k.dot }).collect();
                // Warm-up (caches, branch predictors, CPU clock), then
                // interleaved rounds so drift hits every kernel alike.
                for &f in &fns {
                    time(f, &pool, dim, &pairs);
                }
                let mut samples = vec![Vec::new(); fns.len()];
                for _ in 0..rounds {
                    for (s, &f) in samples.iter_mut().zip(&fns) {
                        s.push(time(f, &pool, dim, &pairs));
                    }
                }
                let ns: Vec<f64> = samples.into_iter().map(median).collect();
                let cells: Vec<String> =
                    names.iter().zip(&ns).map(|(name, t)| format!("{name} {t:.1} ({:.2}x)", ns[0] / t)).collect();
                println!("distance: {pool_name:8} dim {dim:4} {metric:3}: {}", cells.join(" | "));
                let by_name: serde_json::Map<String, serde_json::Value> =
                    names.iter().zip(&ns).map(|(name, t)| (name.to_string(), json!(t))).collect();
                out.push(json!({"pool": pool_name, "pool_vectors": pool_len, "dim": dim,
                                "metric": metric, "ns_per_call": by_name}));
            }
        }
    }
    ctx.record(
        "distance",
        json!({"pairs": n, "rounds": rounds, "dims": DIMS, "pool_bytes": POOLS.map(|p| p.1),
               "implementations": names}),
        json!({"rows": out}),
    );
}
